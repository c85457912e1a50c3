package io.userpulse.flink;

import java.io.UncheckedIOException;

import io.userpulse.flink.decode.DecodeFunction;
import io.userpulse.flink.decode.DecodeResult;
import io.userpulse.flink.decode.RecordDecoder;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Objects;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code userpulse_event_time(key BYTES, value BYTES) -> BIGINT}: the time (UTC epoch ms) a Kafka
 * record may move the watermark to, or NULL when it must not move it (design section 4).
 *
 * <p>Used in the Kafka source DDL ({@code jobs/pipeline.py::source_ddl}) as a computed column
 * under the rowtime attribute, so the planner pushes the watermark into the Kafka source
 * (per-partition watermarks with idleness). Only records that the job counts take part:
 *
 * <ul>
 *   <li>the record goes through the decode step's own {@link RecordDecoder} (framing, schema,
 *       strict Avro, field validation including the sane event-time range, record key), built
 *       from the same {@link DecodeFunction} configuration; any record the decode step
 *       dead-letters, and a tombstone, is NULL here: it never moves the watermark;
 *   <li>a counted event is capped at job clock + {@code maxClockSkewMs}: a device with a fast
 *       clock cannot pin the watermark ahead and make everyone else late. The event itself is
 *       still counted at its own time; the decode step counts the capped ones ({@code
 *       userpulse_events_ahead_of_clock_total}, by comparing this value with the event time).
 * </ul>
 *
 * <p>The job's clock is the wall clock ({@code System.currentTimeMillis()}). Not deterministic.
 * Never throws for any bytes; a registry outage of a {@link RecordDecoder} with a registry
 * propagates (it is not a bad record).
 */
public class AvroEventTime extends ScalarFunction {

    private static final long serialVersionUID = 2L;

    /** Default {@code max_clock_skew_ms} (design section 4): 60 s. */
    public static final long DEFAULT_MAX_CLOCK_SKEW_MS = 60_000L;

    private final DecodeFunction decoding;
    private final long maxClockSkewMs;
    private transient RecordDecoder decoder;
    // the last record judged: the planner evaluates this function twice per record (in the
    // source's watermark generator and for the rt column), on equal copies of the bytes
    private transient byte[] lastKey;
    private transient byte[] lastValue;
    private transient Long lastEventTime;

    /**
     * @param decoding the job's decode step, whose configuration (schemas, record size bound,
     *     sane event-time range) judges each record; it is not run itself
     * @param maxClockSkewMs how far ahead of the job's clock an event time may move the
     *     watermark, in ms (design default {@link #DEFAULT_MAX_CLOCK_SKEW_MS})
     * @throws IllegalArgumentException if {@code maxClockSkewMs} is negative
     */
    public AvroEventTime(DecodeFunction decoding, long maxClockSkewMs) {
        if (maxClockSkewMs < 0) {
            throw new IllegalArgumentException(
                    "max_clock_skew_ms must be >= 0, got " + maxClockSkewMs);
        }
        this.decoding = Objects.requireNonNull(decoding, "decoding");
        this.maxClockSkewMs = maxClockSkewMs;
    }

    /** The cap over the job's clock, in ms. */
    public long getMaxClockSkewMs() {
        return maxClockSkewMs;
    }

    @Override
    public void open(FunctionContext context) {
        decoder();
    }

    private RecordDecoder decoder() {
        if (decoder == null) { // also when a watermark generator skips open()
            decoder = decoding.newRecordDecoder(System::currentTimeMillis);
        }
        return decoder;
    }

    /**
     * @param key the Kafka record key (may be null)
     * @param value the Kafka record value (null: a tombstone)
     * @return the capped event time in UTC epoch ms, or NULL for a record the job rejects
     */
    public Long eval(byte[] key, byte[] value) {
        long now = System.currentTimeMillis();
        if (value == null || !Arrays.equals(value, lastValue) || !Arrays.equals(key, lastKey)) {
            lastEventTime = watermarkTime(decoder(), key, value, now, Long.MAX_VALUE);
            lastKey = key;
            lastValue = value;
        }
        return lastEventTime == null ? null : cap(lastEventTime, now, maxClockSkewMs);
    }

    private static long cap(long eventTimeMs, long nowMs, long maxClockSkewMs) {
        long cap = nowMs + maxClockSkewMs;
        if (cap < nowMs) { // overflow: no cap
            cap = Long.MAX_VALUE;
        }
        return Math.min(eventTimeMs, cap);
    }

    @Override
    public boolean isDeterministic() {
        return false; // the sane range and the cap depend on the wall clock
    }

    /**
     * The time a record may move the watermark to. Pure apart from {@code decoder}'s clock.
     *
     * @param decoder decode + validate + key check
     * @param key record key or null
     * @param value record value or null (tombstone)
     * @param nowMs the job's clock, UTC epoch ms
     * @param maxClockSkewMs the cap over {@code nowMs}, ms (>= 0)
     * @return {@code min(event_time, nowMs + maxClockSkewMs)} of a counted event, else null;
     *     also null while the schema registry cannot answer for the record (its decode step
     *     waits for the registry and holds the record, so a later watermark cannot pass it)
     */
    public static Long watermarkTime(RecordDecoder decoder, byte[] key, byte[] value, long nowMs,
            long maxClockSkewMs) {
        if (value == null) {
            return null;
        }
        DecodeResult r;
        try {
            r = decoder.decode(key, value, "", -1, -1L);
        } catch (UncheckedIOException registryDown) {
            return null;
        }
        if (!r.isOk()) {
            return null;
        }
        return cap(r.event().eventTimeMs, nowMs, maxClockSkewMs);
    }
}
