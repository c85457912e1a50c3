package io.userpulse.flink;

import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code userpulse_event_time(value BYTES) -> BIGINT}: the {@code event_time} (epoch ms) of a
 * userpulse event record, read straight from the Kafka record value, or NULL.
 *
 * <p>Used in the Kafka source DDL as a computed column under the rowtime attribute, so the
 * planner pushes the watermark into the Kafka source (per-partition watermarks with idleness,
 * design section 4). It reads only the first three fields of the Avro body (design section 3):
 *
 * <ul>
 *   <li>framing: single-object encoding {@code C3 01} + 8-byte fingerprint + body, or the
 *       Confluent wire format {@code 00} + 4-byte schema id + body;
 *   <li>body: {@code event_id} (string), {@code user_id} (string), {@code event_time} (long).
 *       An Avro string is a zigzag varint length followed by that many bytes; an Avro long is a
 *       zigzag varint.
 * </ul>
 *
 * <p>The fingerprint / schema id is not checked and the rest of the body is not read: this is a
 * timestamp extractor, not a validator (the Python decoder still validates every record and
 * dead-letters bad ones). Every field added by schema evolution must therefore come after
 * {@code event_time}.
 *
 * <p>Returns NULL, never throws, for: a null value, an unknown framing, truncated records,
 * negative or oversized string lengths, overlong varints, and event times outside the sane
 * range {@code [2000-01-01T00:00:00Z, now + maxFutureMs]} (seconds or microseconds mistaken for
 * milliseconds fall outside it, so they cannot drag the watermark).
 *
 * <p>Not deterministic: the upper bound of the sane range depends on the wall clock.
 */
public class AvroEventTime extends ScalarFunction {

    private static final long serialVersionUID = 1L;

    /** 2000-01-01T00:00:00Z in epoch milliseconds: the earliest sane event time. */
    public static final long MIN_EVENT_TIME_MS = 946_684_800_000L;

    /** Default tolerance for event times ahead of the job's clock: one day. */
    public static final long DEFAULT_MAX_FUTURE_MS = 86_400_000L;

    private static final int SINGLE_OBJECT_HEADER = 10; // C3 01 + 8-byte fingerprint
    private static final int CONFLUENT_HEADER = 5; // 00 + 4-byte schema id

    private final long maxFutureMs;

    /** With the default tolerance ({@link #DEFAULT_MAX_FUTURE_MS}, one day). */
    public AvroEventTime() {
        this(DEFAULT_MAX_FUTURE_MS);
    }

    /**
     * @param maxFutureMs event times more than this many ms ahead of the wall clock are NULL
     * @throws IllegalArgumentException if {@code maxFutureMs} is negative
     */
    public AvroEventTime(long maxFutureMs) {
        if (maxFutureMs < 0) {
            throw new IllegalArgumentException("maxFutureMs must be >= 0, got " + maxFutureMs);
        }
        this.maxFutureMs = maxFutureMs;
    }

    /** The tolerance for event times ahead of the wall clock, in ms. */
    public long getMaxFutureMs() {
        return maxFutureMs;
    }

    /**
     * @param value the Kafka record value (may be null)
     * @return the record's {@code event_time} in epoch ms, or NULL if unreadable or not sane
     */
    public Long eval(byte[] value) {
        return extract(value, maxFutureMs, System.currentTimeMillis());
    }

    /**
     * Same as {@link #eval(byte[])} with the tolerance given per call (for SQL:
     * {@code userpulse_event_time(v, 3600000)}); a NULL or negative tolerance yields NULL.
     */
    public Long eval(byte[] value, Long maxFutureMs) {
        if (maxFutureMs == null || maxFutureMs < 0) {
            return null;
        }
        return extract(value, maxFutureMs, System.currentTimeMillis());
    }

    @Override
    public boolean isDeterministic() {
        return false; // the sane range depends on System.currentTimeMillis()
    }

    /**
     * The sane event time of {@code value} judged against {@code nowMs}, or null. Pure; never
     * throws.
     */
    static Long extract(byte[] value, long maxFutureMs, long nowMs) {
        try {
            long eventTime = readEventTime(value);
            if (eventTime == NONE) {
                return null;
            }
            if (eventTime < MIN_EVENT_TIME_MS) {
                return null;
            }
            long limit = nowMs + maxFutureMs;
            if (((nowMs ^ limit) & (maxFutureMs ^ limit)) < 0) { // overflow: saturate
                limit = Long.MAX_VALUE;
            }
            if (eventTime > limit) {
                return null;
            }
            return eventTime;
        } catch (RuntimeException e) { // defensive only: readEventTime checks every bound
            return null;
        }
    }

    /** Marker for "no event time": Long.MIN_VALUE is below the sane range anyway. */
    private static final long NONE = Long.MIN_VALUE;

    /** The raw event_time of {@code value} (not range-checked), or {@link #NONE}. */
    static long readEventTime(byte[] value) {
        if (value == null || value.length == 0) {
            return NONE;
        }
        int pos;
        if (value[0] == (byte) 0xC3) {
            if (value.length < 2 || value[1] != (byte) 0x01) {
                return NONE;
            }
            pos = SINGLE_OBJECT_HEADER;
        } else if (value[0] == 0x00) {
            pos = CONFLUENT_HEADER;
        } else {
            return NONE;
        }
        if (pos >= value.length) {
            return NONE;
        }
        Cursor c = new Cursor(value, pos);
        for (int field = 0; field < 2; field++) { // event_id, user_id
            long len = c.readLong();
            if (c.failed || len < 0 || len > value.length - c.pos) {
                return NONE;
            }
            c.pos += (int) len;
        }
        long eventTime = c.readLong();
        return c.failed ? NONE : eventTime;
    }

    /** Avro zigzag varint reader over a byte array that flags instead of throwing. */
    private static final class Cursor {
        final byte[] buf;
        int pos;
        boolean failed;

        Cursor(byte[] buf, int pos) {
            this.buf = buf;
            this.pos = pos;
        }

        /** One Avro long (at most 10 bytes; the 10th may carry only the top bit). */
        long readLong() {
            long raw = 0;
            for (int i = 0; i < 10; i++) {
                if (pos >= buf.length) {
                    failed = true;
                    return 0;
                }
                int b = buf[pos++] & 0xFF;
                if (i == 9 && b > 1) { // overlong: more than 64 bits
                    failed = true;
                    return 0;
                }
                raw |= (long) (b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0) {
                    return (raw >>> 1) ^ -(raw & 1); // zigzag decode
                }
            }
            failed = true; // unreachable: the 10th byte either ends or fails above
            return 0;
        }
    }
}
