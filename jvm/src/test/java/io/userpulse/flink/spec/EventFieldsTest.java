package io.userpulse.flink.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventFields;
import org.junit.jupiter.api.Test;

/** Catalogue field names resolve to accessors of Event (userpulse/jvmspec.py _VALUE_TYPES). */
class EventFieldsTest {

    @Test
    void everyCatalogueFieldReadsItsEventField() {
        Event e = new Event();
        e.dwellMs = 12L;
        e.scrollDepth = 0.5;
        e.scrollPx = 300L;
        e.position = 2L;
        e.row = 7L;
        e.itemId = "i";
        assertSame(e.dwellMs, EventFields.of("dwell_ms").longValue(e));
        assertEquals(0.5, EventFields.of("scroll_depth").doubleValue(e));
        assertEquals(300L, EventFields.of("scroll_px").longValue(e));
        assertEquals(2L, EventFields.of("position").longValue(e));
        assertEquals(7L, EventFields.of("row").longValue(e));
        assertEquals("i", EventFields.of("item_id").stringValue(e));
        assertEquals(EventFields.ValueType.DOUBLE, EventFields.SCROLL_DEPTH.valueType());
        for (EventFields f : EventFields.values()) {
            assertTrue(f.isPresent(e), f.catalogueName());
            assertFalse(f.isPresent(new Event()), f.catalogueName());
        }
        assertNull(EventFields.DWELL_MS.longValue(new Event()));
    }

    @Test
    void unknownNameOrWrongTypeFails() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EventFields.of("speed"));
        assertTrue(e.getMessage().contains("dwell_ms"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> EventFields.ITEM_ID.longValue(new Event()));
        assertThrows(IllegalStateException.class, () -> EventFields.ROW.stringValue(new Event()));
    }
}
