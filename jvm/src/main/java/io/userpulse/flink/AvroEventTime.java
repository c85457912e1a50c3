package io.userpulse.flink;

import io.userpulse.flink.decode.DecodeResult;
import io.userpulse.flink.decode.SourceRecord;
import java.time.Duration;
import org.apache.flink.api.common.eventtime.SerializableTimestampAssigner;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;

/**
 * The Kafka source's timestamp assigner: the time (UTC epoch ms) a record may move the watermark
 * to (design section 4), read from the record as the source already decoded it ({@link
 * io.userpulse.flink.decode.EventDeserializer}: decode, strict Avro, field validation including
 * the sane event-time range, record key). Only records that the job counts take part:
 *
 * <ul>
 *   <li>a record the decode step dead-letters, and a tombstone, gets {@link #NOT_COUNTED}: it
 *       never moves the watermark (the bounded-out-of-orderness generator keeps the largest
 *       time seen);
 *   <li>a counted event is capped at job clock + {@code maxClockSkewMs}: a device with a fast
 *       clock cannot pin the watermark ahead and make everyone else late. The event itself is
 *       still counted at its own time; the decode step counts the capped ones ({@code
 *       userpulse_events_ahead_of_clock_total}, by comparing the record timestamp with the
 *       event time).
 * </ul>
 *
 * <p>The job's clock is the wall clock ({@code System.currentTimeMillis()}). Not deterministic.
 */
public class AvroEventTime implements SerializableTimestampAssigner<SourceRecord> {

    private static final long serialVersionUID = 3L;

    /** Default {@code max_clock_skew_ms} (design section 4): 60 s. */
    public static final long DEFAULT_MAX_CLOCK_SKEW_MS = 60_000L;

    /** The timestamp of a record that must not move the watermark: {@code Long.MIN_VALUE}. */
    public static final long NOT_COUNTED = Long.MIN_VALUE;

    private final long maxClockSkewMs;

    /**
     * @param maxClockSkewMs how far ahead of the job's clock an event time may move the
     *     watermark, in ms (design default {@link #DEFAULT_MAX_CLOCK_SKEW_MS})
     * @throws IllegalArgumentException if {@code maxClockSkewMs} is negative
     */
    public AvroEventTime(long maxClockSkewMs) {
        if (maxClockSkewMs < 0) {
            throw new IllegalArgumentException(
                    "max_clock_skew_ms must be >= 0, got " + maxClockSkewMs);
        }
        this.maxClockSkewMs = maxClockSkewMs;
    }

    /** The cap over the job's clock, in ms. */
    public long getMaxClockSkewMs() {
        return maxClockSkewMs;
    }

    /**
     * The source's watermark strategy: per Kafka partition, watermark = largest time of this
     * assigner - {@code outOfOrdernessMs} - 1 ms; a partition without records for {@code
     * idleTimeoutMs} stops holding the watermark back.
     *
     * @param outOfOrdernessMs the bounded out-of-orderness, ms (>= 0)
     * @param idleTimeoutMs idleness timeout, ms; 0 = none (bounded runs: a partition that merely
     *     waits for its turn must keep holding the watermark, case H01 variant B)
     * @throws IllegalArgumentException if a duration is negative
     */
    public WatermarkStrategy<SourceRecord> strategy(long outOfOrdernessMs, long idleTimeoutMs) {
        if (outOfOrdernessMs < 0 || idleTimeoutMs < 0) {
            throw new IllegalArgumentException("out-of-orderness and idle timeout must be >= 0 ms, "
                    + "got " + outOfOrdernessMs + ", " + idleTimeoutMs);
        }
        WatermarkStrategy<SourceRecord> s = WatermarkStrategy
                .<SourceRecord>forBoundedOutOfOrderness(Duration.ofMillis(outOfOrdernessMs))
                .withTimestampAssigner(this);
        return idleTimeoutMs == 0 ? s : s.withIdleness(Duration.ofMillis(idleTimeoutMs));
    }

    /**
     * @param record the decoded record
     * @param kafkaTimestampMs the Kafka record timestamp (ignored: event time is the payload's)
     * @return the capped event time in UTC epoch ms, or {@link #NOT_COUNTED}
     */
    @Override
    public long extractTimestamp(SourceRecord record, long kafkaTimestampMs) {
        Long t = watermarkTime(record.result, System.currentTimeMillis(), maxClockSkewMs);
        return t == null ? NOT_COUNTED : t;
    }

    /**
     * The time a record may move the watermark to. Pure.
     *
     * @param result the record's decode outcome, null for a tombstone
     * @param nowMs the job's clock, UTC epoch ms
     * @param maxClockSkewMs the cap over {@code nowMs}, ms (>= 0)
     * @return {@code min(event_time, nowMs + maxClockSkewMs)} of a counted event, else null
     */
    public static Long watermarkTime(DecodeResult result, long nowMs, long maxClockSkewMs) {
        if (result == null || !result.isOk()) {
            return null;
        }
        long cap = nowMs + maxClockSkewMs;
        if (cap < nowMs) { // overflow: no cap
            cap = Long.MAX_VALUE;
        }
        return Math.min(result.event().eventTimeMs, cap);
    }
}
