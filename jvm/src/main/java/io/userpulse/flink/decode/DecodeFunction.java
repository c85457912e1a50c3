package io.userpulse.flink.decode;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.metrics.JobMetrics;
import io.userpulse.flink.metrics.PrometheusScheduler;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The decode step of the feature job: the Kafka source's {@link SourceRecord}s (decoded once, in
 * the source, by {@link EventDeserializer}) -> valid {@link Event}s; every record that cannot
 * become one goes to the {@link #deadLetterTag()} side output as a {@link DeadLetterRecord} JSON
 * (design section 6). Never throws for a record's content.
 *
 * <p>A tombstone (null value) is counted ({@code userpulse_tombstones_skipped_total}) and
 * skipped. Every record counts in {@code userpulse_events_in_total}; every dead letter counts in
 * {@code userpulse_events_dead_lettered_total{error_class}}; an event whose record timestamp (the
 * watermark time the source assigned: {@link io.userpulse.flink.AvroEventTime}, capped at job
 * clock + {@code max_clock_skew_ms}) lies below its event time counts in {@code
 * userpulse_events_ahead_of_clock_total} ({@link JobMetrics}).
 *
 * <p>This class also carries the decoding configuration (schemas, registry, record size bound,
 * sane event-time range) for the source: {@link #newRecordDecoder}.
 */
public class DecodeFunction extends ProcessFunction<SourceRecord, Event>
        implements ResultTypeQueryable<Event> {

    private static final long serialVersionUID = 1L;

    private static final OutputTag<String> DEAD_LETTER = new OutputTag<>("dead-letter", Types.STRING);

    private final String readerSchemaJson;
    private final TreeMap<String, String> writerSchemas;
    private final int maxRecordBytes;
    private final long maxFutureMs;
    private final int metricsPort;
    private final String metricsHost;
    private final SchemaRegistryLookup registry;
    private final int cacheSize;

    private transient JobMetrics metrics;

    /**
     * @param readerSchemaJson the Avro schema events are resolved into (the spec's
     *     {@code avro.reader})
     * @param writerSchemas writer schema JSON by single-object fingerprint hex (the spec's
     *     {@code avro.writers}); copied
     * @param maxRecordBytes longer record values are dead-lettered as {@code too_large}
     * @param maxFutureMs event times more than this many ms ahead of the clock are
     *     {@code invalid_field} (design: one day)
     * @param metricsPort first port of the Prometheus endpoint, 0 = none ({@link JobMetrics})
     * @param metricsHost address the endpoint binds
     * @throws IllegalArgumentException if {@code maxRecordBytes <= 0} or {@code maxFutureMs < 0};
     *     schemas are checked by {@link #newRecordDecoder}
     */
    public DecodeFunction(String readerSchemaJson, Map<String, String> writerSchemas,
            int maxRecordBytes, long maxFutureMs, int metricsPort, String metricsHost) {
        this(readerSchemaJson, writerSchemas, maxRecordBytes, maxFutureMs, metricsPort,
                metricsHost, null, EventDecoder.DEFAULT_CACHE_SIZE);
    }

    /**
     * Same as {@link #DecodeFunction(String, Map, int, long, int, String)}, also reading the
     * Confluent wire format.
     *
     * @param registry the schema registry (null: none; Confluent framing is {@code bad_framing})
     * @param cacheSize the most registry schemas kept per cache (ids; fingerprints), >= 1
     */
    public DecodeFunction(String readerSchemaJson, Map<String, String> writerSchemas,
            int maxRecordBytes, long maxFutureMs, int metricsPort, String metricsHost,
            SchemaRegistryLookup registry, int cacheSize) {
        if (maxRecordBytes <= 0 || maxFutureMs < 0) {
            throw new IllegalArgumentException("maxRecordBytes must be > 0 and maxFutureMs >= 0, "
                    + "got " + maxRecordBytes + ", " + maxFutureMs);
        }
        this.readerSchemaJson = Objects.requireNonNull(readerSchemaJson, "readerSchemaJson");
        this.writerSchemas = new TreeMap<>(writerSchemas);
        this.maxRecordBytes = maxRecordBytes;
        this.maxFutureMs = maxFutureMs;
        this.metricsPort = metricsPort;
        this.metricsHost = Objects.requireNonNull(metricsHost, "metricsHost");
        this.registry = registry;
        this.cacheSize = cacheSize;
    }

    /** The side output of dead-letter JSON payloads (id {@code dead-letter}, type STRING). */
    public static OutputTag<String> deadLetterTag() {
        return DEAD_LETTER;
    }

    /**
     * A new decoder of this step's configuration: the decode step itself and the source's
     * event-time function ({@link io.userpulse.flink.AvroEventTime}) judge records alike.
     *
     * @param clockMs the job's clock, UTC epoch ms
     * @throws IllegalArgumentException a schema of the configuration is not usable
     */
    public RecordDecoder newRecordDecoder(LongSupplier clockMs) {
        return new RecordDecoder(
                new EventDecoder(readerSchemaJson, writerSchemas, maxRecordBytes, registry,
                        cacheSize, System::currentTimeMillis),
                new EventValidator(maxFutureMs),
                clockMs);
    }

    @Override
    public void open(OpenContext openContext) throws Exception {
        getRuntimeContext().registerUserCodeClassLoaderReleaseHookIfAbsent(
                PrometheusScheduler.HOOK_NAME, PrometheusScheduler::stop);
        metrics = JobMetrics.acquire(metricsPort, metricsHost);
    }

    @Override
    public void processElement(SourceRecord rec, Context ctx, Collector<Event> out) {
        metrics.eventsIn().inc();
        DecodeResult r = rec.result;
        if (r == null) {
            metrics.tombstones().inc();
            return;
        }
        if (r.isOk()) {
            Long rt = ctx.timestamp();
            if (rt != null && cappedAhead(rt, r.event().eventTimeMs)) {
                metrics.aheadOfClock().inc();
            }
            out.collect(r.event());
            return;
        }
        String cls = r.errorClass().code();
        metrics.deadLettered(cls).inc();
        ctx.output(DEAD_LETTER, DeadLetterRecord.json(rec.key, rec.value, rec.topic,
                rec.partition, rec.offset, cls, r.reason(), System.currentTimeMillis()));
    }

    /**
     * True when the source's watermark time {@code rtMs} (the record timestamp {@link
     * io.userpulse.flink.AvroEventTime} assigned, UTC epoch ms) is below the event time: the
     * event was more than {@code max_clock_skew_ms} ahead of the job's clock and capped for the
     * watermark. Only decoded records reach this check, and {@link
     * io.userpulse.flink.AvroEventTime} gives each of them its event time capped at the clock +
     * skew, so {@code rtMs} is a real time.
     */
    static boolean cappedAhead(long rtMs, long eventTimeMs) {
        return rtMs < eventTimeMs;
    }

    @Override
    public void close() throws Exception {
        if (metrics != null) {
            metrics.release();
            metrics = null;
        }
    }

    @Override
    public TypeInformation<Event> getProducedType() {
        return TypeInformation.of(Event.class);
    }
}
