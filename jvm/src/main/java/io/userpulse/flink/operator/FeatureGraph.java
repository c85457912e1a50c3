package io.userpulse.flink.operator;

import io.userpulse.flink.AvroEventTime;
import io.userpulse.flink.decode.DecodeFunction;
import io.userpulse.flink.decode.EventDecoder;
import io.userpulse.flink.decode.EventDeserializer;
import io.userpulse.flink.decode.HttpSchemaRegistry;
import io.userpulse.flink.decode.SourceRecord;
import io.userpulse.flink.spec.AvroSpec;
import io.userpulse.flink.event.Event;
import io.userpulse.flink.spec.JobSpec;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.kafka.shaded.org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.util.OutputTag;

/**
 * The JVM pieces of the feature job graph, for the Python graph builder ({@code jobs/pipeline.py})
 * to reach through PyFlink's Java gateway: each method returns one function or tag, configured
 * from the {@link JobSpec} that the Python catalogue wrote ({@code userpulse/jvmspec.py}).
 *
 * <pre>
 *   kafkaSource (decoded once; watermarks) -> decodeFunction (dead letters: deadLetterTag)
 *              -> keyBy(userKey) -> features: featureOperator (Redis writes; late events:
 *                 lateTag; a user's store errors: storeErrorTag)
 * </pre>
 */
public final class FeatureGraph {

    private FeatureGraph() {}

    /**
     * The Kafka source: raw records of {@code topic}, each decoded once into a {@link
     * SourceRecord} ({@link EventDeserializer}, configured like {@link #decodeFunction}). It
     * starts from the group's committed offsets (earliest without them), reads committed records
     * only ({@code isolation.level=read_committed}: records of aborted transactions are not
     * events, case H23) and discovers new partitions every 10 s; add it with {@code
     * env.fromSource(source, watermarks(...), "kafka-source")} and uid {@code kafka-source}.
     *
     * @param spec the job spec (decoding configuration)
     * @param topic the input topic
     * @param groupId the consumer group (offsets committed on checkpoints)
     * @param properties Kafka client properties: {@code bootstrap.servers} and any SASL / TLS
     *     ones (copied; they win over the defaults above except the group)
     * @param bounded stop at each partition's offset as of start (its last stable offset)
     */
    public static KafkaSource<SourceRecord> kafkaSource(JobSpec spec, String topic,
            String groupId, Map<String, String> properties, boolean bounded) {
        Properties props = new Properties();
        props.setProperty("isolation.level", "read_committed");
        props.setProperty("partition.discovery.interval.ms", "10000");
        props.putAll(properties);
        KafkaSourceBuilder<SourceRecord> b = KafkaSource.<SourceRecord>builder()
                .setTopics(topic)
                .setGroupId(groupId)
                .setProperties(props)
                .setStartingOffsets(OffsetsInitializer.committedOffsets(
                        OffsetResetStrategy.EARLIEST))
                .setDeserializer(new EventDeserializer(decodeFunction(spec)));
        if (bounded) {
            b.setBounded(OffsetsInitializer.latest());
        }
        return b.build();
    }

    /**
     * The source's watermark strategy (design section 4): per partition, the largest event time
     * of a counted record, capped at job clock + {@code maxClockSkewMs}, minus {@code
     * outOfOrdernessMs} + 1 ms; dead-lettered records and tombstones never move it ({@link
     * AvroEventTime}).
     *
     * @param maxClockSkewMs the cap over the job's clock, ms (setting {@code max_clock_skew_ms})
     * @param outOfOrdernessMs setting {@code out_of_orderness_ms}
     * @param idleTimeoutMs setting {@code idle_timeout_ms}; 0 for bounded runs (no idleness)
     * @throws IllegalArgumentException if a duration is negative
     */
    public static WatermarkStrategy<SourceRecord> watermarks(long maxClockSkewMs,
            long outOfOrdernessMs, long idleTimeoutMs) {
        return new AvroEventTime(maxClockSkewMs).strategy(outOfOrdernessMs, idleTimeoutMs);
    }

    /**
     * The decode step: the source's {@link SourceRecord}s to {@link Event}s; bad records to
     * {@link #deadLetterTag()}.
     *
     * @param spec the job spec (Avro schemas and registry, record size limit, sane event-time
     *     range, metrics)
     * @return a new function (Java-serialized into the job graph)
     */
    public static DecodeFunction decodeFunction(JobSpec spec) {
        AvroSpec.Registry reg = spec.avro().registry();
        return new DecodeFunction(
                spec.avro().readerSchemaJson(),
                spec.avro().writerSchemasByFingerprintHex(),
                spec.job().maxRecordBytes(),
                spec.job().maxFutureMs(),
                spec.metrics().port(),
                spec.metrics().host(),
                reg == null ? null : new HttpSchemaRegistry(reg.url(), reg.subject(),
                        reg.timeoutMs()),
                reg == null ? EventDecoder.DEFAULT_CACHE_SIZE : reg.cacheSize());
    }

    /**
     * The keyed feature step: tiles and profile per user in keyed state, written to Redis; late
     * events to {@link #lateTag()}.
     *
     * @param spec the job spec
     * @return a new function; key the stream with {@link #userKey()} first
     */
    public static FeatureFunction featureFunction(JobSpec spec) {
        return new FeatureFunction(spec);
    }

    /**
     * The keyed feature step as an operator ({@link FeatureOperator}: the feature function plus
     * store-error dead letters and the rewrite after a store loss); add it with {@code
     * keyedStream.transform("features", Types.VOID, op)} ({@link #features}).
     *
     * @param spec the job spec
     */
    public static FeatureOperator featureOperator(JobSpec spec) {
        return new FeatureOperator(spec);
    }

    /**
     * Adds the feature step to {@code keyed} (the stream keyed with {@link #userKey()}).
     *
     * @return the step's stream (no records; side outputs {@link #lateTag()} and {@link
     *     #storeErrorTag()})
     */
    public static SingleOutputStreamOperator<Void> features(KeyedStream<Event, String> keyed,
            JobSpec spec) {
        return keyed.transform("features", Types.VOID, featureOperator(spec));
    }

    /** Side output of the feature step: store-error dead-letter JSON records. */
    public static OutputTag<String> storeErrorTag() {
        return FeatureOperator.storeErrorTag();
    }

    /** The key of the feature step: the event's user id (byte-exact). */
    public static KeySelector<Event, String> userKey() {
        return new UserKey();
    }

    /** Side output of the decode step: dead-letter JSON records. */
    public static OutputTag<String> deadLetterTag() {
        return DecodeFunction.deadLetterTag();
    }

    /** Side output of the feature step: late-event JSON records. */
    public static OutputTag<String> lateTag() {
        return FeatureFunction.lateTag();
    }

    /**
     * A step that keeps every event: for redeploy drills, where a later job version adds a
     * stateless step before keying and must still restore the earlier version's state.
     */
    public static FilterFunction<Event> passThrough() {
        return new PassThrough();
    }

    /** {@link #userKey()}. */
    public static final class UserKey implements KeySelector<Event, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(Event event) {
            return event.userId;
        }
    }

    /** {@link #passThrough()}. */
    public static final class PassThrough implements FilterFunction<Event> {
        private static final long serialVersionUID = 1L;

        @Override
        public boolean filter(Event event) {
            return true;
        }
    }
}
