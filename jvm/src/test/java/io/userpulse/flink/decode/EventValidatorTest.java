package io.userpulse.flink.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EventValidatorTest {

    private static final long NOW = 1_717_246_800_000L;
    private final EventValidator v = new EventValidator(EventValidator.DEFAULT_MAX_FUTURE_MS);

    private static Event event(EventType type, String user, long t) {
        Event e = new Event();
        e.eventId = "e";
        e.eventType = type;
        e.userId = user;
        e.eventTimeMs = t;
        return e;
    }

    @Test
    void userIdBytes() {
        assertEquals("user_id empty", v.validationError(event(EventType.CLICK, "", NOW), NOW));
        assertEquals("user_id empty", v.validationError(event(EventType.CLICK, null, NOW), NOW));
        assertNull(v.validationError(event(EventType.CLICK, "😀".repeat(32), NOW), NOW));
        assertEquals("user_id too long: 131 bytes > 128",
                v.validationError(event(EventType.CLICK, "😀".repeat(32) + "ü!", NOW), NOW));
        assertEquals(1, EventValidator.utf8Length("a"));
        assertEquals(2, EventValidator.utf8Length("ü"));
        assertEquals(3, EventValidator.utf8Length("用"));
        assertEquals(4, EventValidator.utf8Length("😀"));
        assertEquals(3, EventValidator.utf8Length("\ud800")); // lone surrogate: surrogatepass
        assertEquals(5, EventValidator.utf8Length("x\udc00y"));
    }

    @Test
    void eventTimeRange() { // case H03
        assertNull(v.validationError(event(EventType.CLICK, "u", EventValidator.MIN_EVENT_TIME_MS), NOW));
        assertEquals("event_time out of range: 1717243205 (sane: 946684800000..1717333200000)",
                v.validationError(event(EventType.CLICK, "u", 1_717_243_205L), NOW));
        EventValidator lax = new EventValidator(Long.MAX_VALUE);
        assertNull(lax.validationError(event(EventType.CLICK, "u", Long.MAX_VALUE), NOW));
        assertThrows(IllegalArgumentException.class, () -> new EventValidator(-1));
    }

    @Test
    void typeFields() {
        Event h = event(EventType.HOVER, "u", NOW);
        assertEquals("dwell_ms invalid: None (HOVER needs dwell_ms >= 0)", v.validationError(h, NOW));
        h.dwellMs = 0L;
        assertNull(v.validationError(h, NOW));
        Event s = event(EventType.SCROLL, "u", NOW);
        s.scrollDepth = Double.NaN;
        assertEquals("scroll_depth invalid: nan (must be 0.0..1.0)", v.validationError(s, NOW));
        s.scrollDepth = -0.0;
        assertNull(v.validationError(s, NOW));
        s.scrollDepth = null;
        s.scrollPx = 0L;
        assertNull(v.validationError(s, NOW));
        Event c = event(EventType.CLICK, "u", NOW);
        c.position = -3L; // CLICK position has no rule in validation_error
        assertNull(v.validationError(c, NOW));
    }

    @Test
    void keyCheck() {
        assertNull(EventValidator.keyMismatch(null, "u1"));
        assertNull(EventValidator.keyMismatch("u1".getBytes(StandardCharsets.UTF_8), "u1"));
        assertNull(EventValidator.keyMismatch("jürgen".getBytes(StandardCharsets.UTF_8), "jürgen"));
        assertEquals("record key b'' is not the user_id", EventValidator.keyMismatch(new byte[0], "u1"));
        assertEquals("record key b'u1 ' is not the user_id",
                EventValidator.keyMismatch("u1 ".getBytes(StandardCharsets.UTF_8), "u1"));
        assertEquals("record key b'" + "k".repeat(64) + "' is not the user_id",
                EventValidator.keyMismatch("k".repeat(100).getBytes(StandardCharsets.UTF_8), "u1"));
    }
}
