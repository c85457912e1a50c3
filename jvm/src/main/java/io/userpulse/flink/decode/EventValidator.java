package io.userpulse.flink.decode;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Field checks of a decoded event: exactly {@code userpulse/events.py::validation_error} plus the
 * record-key check of {@code jobs/records.py::decode_record} (design sections 3, 4 and 6). The
 * reasons are the Python ones character for character, so dead-letter records read the same
 * whichever side wrote them. Stateless and thread-safe; the clock is a parameter.
 */
public final class EventValidator {

    /** 2000-01-01T00:00:00Z, UTC epoch ms: events before it are out of the sane range. */
    public static final long MIN_EVENT_TIME_MS = 946_684_800_000L;

    /** Default tolerance for event times ahead of the job's clock: one day, in ms. */
    public static final long DEFAULT_MAX_FUTURE_MS = 86_400_000L;

    /** Longest user id, in UTF-8 bytes. */
    public static final int MAX_USER_ID_BYTES = 128;

    private final long maxFutureMs;

    /**
     * @param maxFutureMs how far ahead of the clock an event time may be, in ms (design: 1 day);
     *     seconds or microseconds mistaken for milliseconds fall outside the range (case H03)
     * @throws IllegalArgumentException if {@code maxFutureMs} is negative
     */
    public EventValidator(long maxFutureMs) {
        if (maxFutureMs < 0) {
            throw new IllegalArgumentException("maxFutureMs must be >= 0, got " + maxFutureMs);
        }
        this.maxFutureMs = maxFutureMs;
    }

    /** The tolerance for event times ahead of the clock, in ms. */
    public long maxFutureMs() {
        return maxFutureMs;
    }

    /**
     * Why {@code e} must be dead-lettered, or null when it is valid.
     *
     * @param e a decoded event
     * @param nowMs the job's clock, UTC epoch ms (wall clock; injectable for tests)
     * @return a reason starting with the field name ({@code "user_id empty"}, {@code "event_time
     *     out of range: ..."}, {@code "dwell_ms invalid: ..."}, ...), or null
     */
    public String validationError(Event e, long nowMs) {
        int uidBytes = e.userId == null ? 0 : utf8Length(e.userId);
        if (uidBytes == 0) {
            return "user_id empty";
        }
        if (uidBytes > MAX_USER_ID_BYTES) {
            return "user_id too long: " + uidBytes + " bytes > " + MAX_USER_ID_BYTES;
        }
        long t = e.eventTimeMs;
        long limit = saturatedAdd(nowMs, maxFutureMs);
        if (t < MIN_EVENT_TIME_MS || t > limit) {
            return "event_time out of range: " + t + " (sane: " + MIN_EVENT_TIME_MS + ".." + limit
                    + ")";
        }
        if (e.eventType == EventType.HOVER) {
            if (e.dwellMs == null || e.dwellMs < 0) {
                return "dwell_ms invalid: " + py(e.dwellMs) + " (HOVER needs dwell_ms >= 0)";
            }
        } else if (e.eventType == EventType.SCROLL) {
            Double d = e.scrollDepth;
            if (d == null && e.scrollPx == null) {
                return "scroll_depth missing: SCROLL needs scroll_depth and/or scroll_px";
            }
            if (d != null && !(d >= 0.0 && d <= 1.0)) { // NaN fails both comparisons
                return "scroll_depth invalid: " + PyJson.floatRepr(d) + " (must be 0.0..1.0)";
            }
            if (e.scrollPx != null && e.scrollPx < 0) {
                return "scroll_px invalid: " + e.scrollPx + " (must be >= 0)";
            }
        }
        return null;
    }

    /**
     * Why the record key does not fit the event, or null: a present key must be exactly the user
     * id's UTF-8 bytes (the key is what partitions a user's events, design section 3).
     *
     * @param key the Kafka record key, or null (no key: nothing to check)
     * @param userId the event's user id
     * @return {@code "record key b'...' is not the user_id"} (Python bytes repr of the first 64
     *     key bytes), or null
     */
    public static String keyMismatch(byte[] key, String userId) {
        if (key == null || utf8Equals(key, userId)) {
            return null;
        }
        return "record key " + PyJson.bytesRepr(key, Math.min(64, key.length))
                + " is not the user_id";
    }

    private static String py(Long v) {
        return v == null ? "None" : v.toString();
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : r;
    }

    /** UTF-8 length of {@code s}; a lone surrogate counts 3 bytes (Python's surrogatepass). */
    static int utf8Length(String s) {
        int n = 0;
        for (int i = 0, len = s.length(); i < len; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < len
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    private static boolean utf8Equals(byte[] key, String s) {
        int len = s.length();
        if (key.length == len) { // ASCII fast path: no allocation
            int i = 0;
            while (i < len && s.charAt(i) < 0x80 && key[i] == s.charAt(i)) {
                i++;
            }
            if (i == len) {
                return true;
            }
        }
        return Arrays.equals(key, s.getBytes(StandardCharsets.UTF_8));
    }
}
