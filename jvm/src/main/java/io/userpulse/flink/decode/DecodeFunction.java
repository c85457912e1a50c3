package io.userpulse.flink.decode;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.metrics.JobMetrics;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The decode step of the feature job: Kafka source rows -> valid {@link Event}s; every record
 * that cannot become one goes to the {@link #deadLetterTag()} side output as a {@link
 * DeadLetterRecord} JSON (design section 6). Never throws for a record's content.
 *
 * <p>Input rows are those of the Kafka table source ({@code jobs/pipeline.py::source_ddl}), by
 * position: 0 {@code k} (byte[] or null), 1 {@code v} (byte[] or null), 2 {@code topic}
 * (String), 3 {@code partition} (Integer), 4 {@code offset} (Long), 5 {@code rt} (Instant: the
 * record's watermark time). A null
 * value is a tombstone: counted ({@code userpulse_tombstones_skipped_total}) and skipped. Every
 * row counts in {@code userpulse_events_in_total}; every decode is timed in
 * {@code userpulse_decode_seconds}; every dead letter counts in
 * {@code userpulse_events_dead_lettered_total{error_class}}; an event whose {@code rt} lies
 * below its event time (capped at job clock + {@code max_clock_skew_ms} by the source) counts in
 * {@code userpulse_events_ahead_of_clock_total} ({@link JobMetrics}).
 *
 * <p>Validation uses the wall clock ({@code System.currentTimeMillis()}) as the job's clock.
 *
 * <p>With a {@link SchemaRegistryLookup}, a registry that fails, refuses or does not answer
 * within its timeout is not a bad record (case H09): the same record is decoded again after a
 * backoff ({@link #RETRY_FIRST_MS} doubling up to {@link #RETRY_MAX_MS}), each failure counted in
 * {@code userpulse_schema_registry_retries_total}, until the registry answers. The task waits
 * meanwhile (Kafka is not read further: backpressure, nothing skipped or dead-lettered).
 */
public class DecodeFunction extends ProcessFunction<Row, Event>
        implements ResultTypeQueryable<Event> {

    private static final long serialVersionUID = 1L;

    private static final OutputTag<String> DEAD_LETTER = new OutputTag<>("dead-letter", Types.STRING);

    /** First wait after a failed registry lookup, ms. */
    public static final long RETRY_FIRST_MS = 100;

    /** Longest wait between registry lookups, ms. */
    public static final long RETRY_MAX_MS = 5_000;

    private final String readerSchemaJson;
    private final TreeMap<String, String> writerSchemas;
    private final int maxRecordBytes;
    private final long maxFutureMs;
    private final int metricsPort;
    private final String metricsHost;
    private final SchemaRegistryLookup registry;
    private final int cacheSize;

    private transient RecordDecoder decoder;
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
     *     schemas are checked in {@link #open}
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
        decoder = newRecordDecoder(System::currentTimeMillis);
        metrics = JobMetrics.acquire(metricsPort, metricsHost);
    }

    @Override
    public void processElement(Row row, Context ctx, Collector<Event> out)
            throws InterruptedException {
        metrics.eventsIn().inc();
        byte[] value = (byte[]) row.getField(1);
        if (value == null) {
            metrics.tombstones().inc();
            return;
        }
        byte[] key = (byte[]) row.getField(0);
        String topic = (String) row.getField(2);
        Integer partition = (Integer) row.getField(3);
        Long offset = (Long) row.getField(4);
        long t0 = System.nanoTime();
        DecodeResult r = decodeRetrying(key, value, topic, partition == null ? -1 : partition,
                offset == null ? -1L : offset);
        metrics.decodeSeconds().observe((System.nanoTime() - t0) / 1e9);
        if (r.isOk()) {
            if (cappedAhead(row.getField(5), r.event().eventTimeMs)) {
                metrics.aheadOfClock().inc();
            }
            out.collect(r.event());
            return;
        }
        String cls = r.errorClass().code();
        metrics.deadLettered(cls).inc();
        ctx.output(DEAD_LETTER, DeadLetterRecord.json(key, value, topic, partition,
                offset == null ? -1L : offset, cls, r.reason(), System.currentTimeMillis()));
    }

    /** Decodes, retrying with backoff while the schema registry fails (see the class doc). */
    private DecodeResult decodeRetrying(byte[] key, byte[] value, String topic, int partition,
            long offset) throws InterruptedException {
        long waitMs = RETRY_FIRST_MS;
        while (true) {
            try {
                return decoder.decode(key, value, topic, partition, offset);
            } catch (UncheckedIOException e) {
                metrics.schemaRegistryRetries().inc();
                Thread.sleep(waitMs); // interrupted on cancel: the task ends
                waitMs = Math.min(RETRY_MAX_MS, waitMs * 2);
            }
        }
    }

    /**
     * True when the source's watermark time {@code rt} (an {@link Instant}, the value of {@link
     * io.userpulse.flink.AvroEventTime}) is below the event time: the event was more than
     * {@code max_clock_skew_ms} ahead of the job's clock and capped for the watermark. An
     * {@code rt} of epoch 0 is the source's "no watermark time" ({@code COALESCE(..., 0)} in
     * {@code jobs/pipeline.py::source_ddl}: the function gave NULL, e.g. while the schema registry
     * did not answer it), not a capped event.
     */
    static boolean cappedAhead(Object rt, long eventTimeMs) {
        return rt instanceof Instant i && i.toEpochMilli() > 0 && i.toEpochMilli() < eventTimeMs;
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
