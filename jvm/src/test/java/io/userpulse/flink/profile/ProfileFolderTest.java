package io.userpulse.flink.profile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import io.userpulse.flink.tiles.Vectors;
import java.io.IOException;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** Profile fold / revive cases named one by one (the golden vectors cover the rest). */
class ProfileFolderTest {

    private static final long GAP = 1_800_000L;
    private final ProfileFolder folder = ProfileFolder.of(Vectors.defaultSpec());

    private static Event ev(String id, EventType type, long t, String item) {
        Event e = new Event();
        e.eventId = id;
        e.eventType = type;
        e.userId = "u";
        e.eventTimeMs = t;
        e.itemId = item;
        return e;
    }

    @Test
    void freshProfileRecordsLikePython() {
        Event e = ev("e1", EventType.CLICK, 1000, "i");
        Profile p = folder.revive(null, e);
        folder.fold(p, e, Long.MIN_VALUE);
        assertEquals("{\"c\":{\"CLICK\":1},\"fs\":1000,\"ls\":1000,\"k\":{\"CLICK\":[[1000,\"e1\","
                + "\"i\"]]},\"s\":[1000,1000,1],\"v\":1,\"rev\":\"e1\",\"base\":null}",
                p.recordJson());
        assertEquals("{\"c\":{},\"fs\":null,\"ls\":null,\"k\":{},\"s\":null,\"v\":0,\"rev\":null,"
                + "\"base\":null}", new Profile().recordJson());
    }

    @Test
    void lateEventMergesTwoSessionsAndHorizonDropsOldOnes() {
        Profile p = new Profile();
        folder.fold(p, ev("a", EventType.HOVER, 0, null), Long.MIN_VALUE);
        folder.fold(p, ev("b", EventType.HOVER, 2 * GAP - 2, null), Long.MIN_VALUE);
        assertEquals(2, p.sessionCount());
        folder.fold(p, ev("c", EventType.HOVER, GAP - 1, null), Long.MIN_VALUE); // bridges both
        assertEquals(1, p.sessionCount());
        assertArrayEquals(new long[] {0, 2 * GAP - 2, 3}, p.session(0));
        folder.fold(p, ev("d", EventType.HOVER, 10 * GAP, null), Long.MIN_VALUE);
        assertEquals(2, p.sessionCount());
        // watermark - lateness - gap passes the old session's end: it drops, the newest stays
        folder.fold(p, ev("e", EventType.HOVER, 10 * GAP + 1, null), 4 * GAP + 600_000);
        assertEquals(1, p.sessionCount());
        assertArrayEquals(new long[] {10 * GAP, 10 * GAP + 1, 2}, p.session(0));
        folder.fold(p, ev("f", EventType.HOVER, GAP, null), 4 * GAP + 600_000); // exactly a gap
        assertEquals(1, p.sessionCount()); // its own session, at once past the horizon
        assertEquals(0, p.count("CLICK"));
        assertEquals(6, p.count("HOVER"));
    }

    @Test
    void lastKKeepsNewestFirstAndDeduplicates() {
        Profile p = new Profile();
        for (int i = 0; i < 30; i++) {
            folder.fold(p, ev("e" + (i % 25), EventType.CLICK, 1000L * (i % 25), "i" + i),
                    Long.MIN_VALUE);
        }
        Object[][] items = p.lastItems("CLICK");
        assertEquals(20, items.length);
        assertEquals(24_000L, items[0][0]);
        assertEquals("i24", items[0][2]); // the replay of e24 (item i29) did not enter again
        assertEquals(5_000L, items[19][0]);
        assertEquals(0, p.lastItems("SCROLL").length);
    }

    @Test
    void reviveContinuesStoredOrItsBaseOnReplay() {
        Event first = ev("r1", EventType.SCROLL, 5000, null);
        String stored = "{\"c\":{\"HOVER\":4},\"fs\":10,\"ls\":20,\"k\":{},\"s\":[10,20,4],"
                + "\"v\":4,\"rev\":\"old\",\"base\":null}";
        Profile p = folder.revive(stored, first);
        assertEquals(4, p.version());
        assertEquals("r1", p.rev());
        assertEquals("{\"c\":{\"HOVER\":4},\"fs\":10,\"ls\":20,\"k\":{},\"s\":[10,20,4],\"v\":4}",
                p.baseJson());
        folder.fold(p, first, Long.MIN_VALUE);
        String written = p.recordJson();
        Profile replay = folder.revive(written, first); // restore before the revival: use base
        assertEquals(4, replay.version());
        assertEquals(p.baseJson(), replay.baseJson());
        Profile none = folder.revive("{\"rev\":\"r1\",\"base\":null,\"v\":9}", first);
        assertEquals(0, none.version());
        assertNull(none.baseJson());
        assertEquals(0, folder.revive("null", first).version());
        assertThrows(IllegalArgumentException.class, () -> folder.revive("[1]", first));
        assertThrows(IllegalArgumentException.class, () -> folder.revive("{", first));
    }

    @Test
    void profileSerializerRoundTrips() throws IOException {
        Event first = ev("r1", EventType.CLICK, 5000, "\ud83d\ude00");
        Profile p = folder.revive("{\"c\":{\"X\":1},\"k\":{\"HOVER\":[[1,\"a\",null]]},\"v\":1}",
                first);
        folder.fold(p, first, Long.MIN_VALUE);
        folder.fold(p, ev("r2", EventType.HOVER, 9 * GAP, "h"), Long.MIN_VALUE);
        DataOutputSerializer out = new DataOutputSerializer(64);
        ProfileSerializer.INSTANCE.serialize(p, out);
        Profile back = ProfileSerializer.INSTANCE.deserialize(
                new DataInputDeserializer(out.getCopyOfBuffer()));
        assertEquals(p, back);
        assertEquals(p.recordJson(), back.recordJson());
        assertEquals(2, back.sessionCount());
        assertEquals(p, ProfileSerializer.INSTANCE.copy(p));
    }
}
