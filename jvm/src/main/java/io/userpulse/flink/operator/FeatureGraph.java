package io.userpulse.flink.operator;

import io.userpulse.flink.AvroEventTime;
import io.userpulse.flink.decode.DecodeFunction;
import io.userpulse.flink.decode.EventDecoder;
import io.userpulse.flink.decode.HttpSchemaRegistry;
import io.userpulse.flink.spec.AvroSpec;
import io.userpulse.flink.event.Event;
import io.userpulse.flink.spec.JobSpec;
import org.apache.flink.api.common.functions.FilterFunction;
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
 *   Kafka rows -> decodeFunction (dead letters: deadLetterTag)
 *              -> keyBy(userKey) -> features: featureOperator (Redis writes; late events:
 *                 lateTag; a user's store errors: storeErrorTag)
 * </pre>
 */
public final class FeatureGraph {

    private FeatureGraph() {}

    /**
     * The decode step: Kafka rows (k, v, topic, partition, offset, rt) to {@link Event}s; bad
     * records to {@link #deadLetterTag()}.
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
     * The source's event-time function ({@code userpulse_event_time(k, v)} in the Kafka source
     * DDL): the watermark time of a record, NULL for every record {@link #decodeFunction} would
     * dead-letter, capped at job clock + {@code maxClockSkewMs} (design section 4).
     *
     * @param spec the job spec (the same as the decode step's)
     * @param maxClockSkewMs the cap over the job's clock, ms (setting {@code max_clock_skew_ms})
     * @return a new function, to register as a temporary system function
     * @throws IllegalArgumentException if {@code maxClockSkewMs} is negative
     */
    public static AvroEventTime eventTimeFunction(JobSpec spec, long maxClockSkewMs) {
        return new AvroEventTime(decodeFunction(spec), maxClockSkewMs);
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
