package io.userpulse.flink.tiles;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import io.userpulse.flink.profile.ProfileFolder;
import io.userpulse.flink.spec.JobSpec;
import java.io.IOException;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

/** Head and Tile serializers: round trips, deep copies, snapshots (no Kryo, no spec needed). */
class SerializersTest {

    private static final long T0 = 1_764_460_800_000L;
    private final JobSpec spec = Vectors.defaultSpec();
    private final TileState state = TileState.of(spec);
    private final ProfileFolder folder = ProfileFolder.of(spec);

    private static Event event(String id, EventType type, long t, String item) {
        Event e = new Event();
        e.eventId = id;
        e.eventType = type;
        e.userId = "u";
        e.eventTimeMs = t;
        e.itemId = item;
        if (type == EventType.HOVER) {
            e.dwellMs = Long.MAX_VALUE; // two of them overflow 64 bits: the sum goes BigInteger
        } else if (type == EventType.SCROLL) {
            e.scrollDepth = 0.3;
        }
        return e;
    }

    /** A head with tiles of every kind, older tiles in the store, and a revived profile. */
    private Head populated(TileStore older) throws Exception {
        Event first = event("e0", EventType.CLICK, T0, "i0");
        Head h = state.newHead(folder.revive("{\"c\":{\"CLICK\":2},\"fs\":1,\"ls\":2,\"k\":{},"
                + "\"s\":[1,2,2],\"v\":2,\"x\":[1.5,null]}", first));
        Touched touched = state.newTouched();
        EventType[] types = EventType.values();
        for (int i = 0; i < 40; i++) {
            Event e = i == 0 ? first : event("e" + i, types[i % 3], T0 + i * 700L - (i % 5) * 900,
                    i % 4 == 0 ? null : "i\u00e9" + i);
            state.fold(h, older, e, touched);
            folder.fold(h.profile(), e, T0 + i * 700L - 5001);
        }
        return h;
    }

    private static <T> T roundTrip(TypeSerializer<T> s, T value) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        s.serialize(value, out);
        DataOutputSerializer copied = new DataOutputSerializer(64);
        s.copy(new DataInputDeserializer(out.getCopyOfBuffer()), copied);
        assertArrayEquals(out.getCopyOfBuffer(), copied.getCopyOfBuffer());
        return s.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }

    @Test
    void headRoundTripsWithTilesAndProfile() throws Exception {
        MapTileStore older = new MapTileStore();
        Head h = populated(older);
        assertTrue(older.size() > 5, "older tiles: " + older.size());
        Head back = roundTrip(HeadSerializer.INSTANCE, h);
        assertEquals(h, back);
        assertEquals(h.toString(), back.toString());
        assertEquals(h.profile().recordJson(), back.profile().recordJson());
        assertTrue(h.profile().recordJson().contains("\"base\":{\"c\":{\"CLICK\":2}"));
        for (long key : older.keys()) {
            Tile t = older.get(key);
            Tile tb = roundTrip(TileSerializer.INSTANCE, t);
            assertEquals(t, tb);
            assertEquals(TileCodec.encode(t), TileCodec.encode(tb));
            assertSame(t.shape(), tb.shape());
        }
    }

    @Test
    void overflowedSumSurvivesTheRoundTrip() throws Exception {
        MapTileStore older = new MapTileStore();
        Head h = populated(older);
        Tile day = h.newestTile(3);
        int sum = spec.features().aggregates().stream().map(a -> a.name()).toList()
                .indexOf("sum_dwell_hover");
        assertTrue(day.bigValue(sum) != null && day.bigValue(sum).bitLength() > 63);
        Tile back = roundTrip(TileSerializer.INSTANCE, day);
        assertEquals(day.bigValue(sum), back.bigValue(sum));
        assertEquals(TileCodec.encode(day), TileCodec.encode(back));
    }

    @Test
    void writtenFlagSurvivesCopiesButNotSerialization() throws Exception {
        Head h = populated(new MapTileStore());
        assertFalse(h.isWritten());
        h.markWritten();
        assertTrue(HeadSerializer.INSTANCE.copy(h).isWritten()); // heap backend snapshot copies
        assertFalse(roundTrip(HeadSerializer.INSTANCE, h).isWritten()); // a restore rewrites all
        Tile empty = state.aggregator().newTile();
        assertEquals(Tile.NONE, empty.maxEventTimeMs());
        assertEquals("0;0;0;0;0;;;;", TileCodec.encode(empty));
    }

    @Test
    void copiesAreDeep() throws Exception {
        MapTileStore older = new MapTileStore();
        Head h = populated(older);
        Head c = HeadSerializer.INSTANCE.copy(h);
        assertEquals(h, c);
        assertNotSame(h.newestTile(0), c.newestTile(0));
        assertNotSame(h.profile(), c.profile());
        String before = h.toString();
        state.fold(c, new MapTileStore(), event("late", EventType.HOVER, T0 + 100, "z"),
                state.newTouched());
        folder.fold(c.profile(), event("late", EventType.HOVER, T0 + 100, "z"), T0);
        assertEquals(before, h.toString());
        assertNotEquals(h, c);
        Tile t = h.newestTile(3);
        Tile tc = TileSerializer.INSTANCE.copy(t);
        state.aggregator().add(event("x", EventType.CLICK, T0, "new-item"), tc);
        assertNotEquals(TileCodec.encode(t), TileCodec.encode(tc));
        assertEquals(before, h.toString());
    }

    @Test
    void snapshotsRestoreTheSameSerializer() throws Exception {
        for (TypeSerializer<?> s : new TypeSerializer<?>[] {HeadSerializer.INSTANCE,
                TileSerializer.INSTANCE, io.userpulse.flink.profile.ProfileSerializer.INSTANCE}) {
            TypeSerializerSnapshot<?> snap = s.snapshotConfiguration();
            DataOutputSerializer out = new DataOutputSerializer(64);
            TypeSerializerSnapshot.writeVersionedSnapshot(out, snap);
            TypeSerializerSnapshot<?> read = TypeSerializerSnapshot.readVersionedSnapshot(
                    new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
            assertSame(s, read.restoreSerializer());
            assertEquals(s, s.duplicate());
            assertEquals(s, InstantiationUtil.clone(s));
        }
    }

    @Test
    void unknownFormatIsRejected() {
        DataInputDeserializer in = new DataInputDeserializer(new byte[] {9, 0, 0, 0, 0});
        assertThrows(IOException.class, () -> HeadSerializer.INSTANCE.deserialize(in));
        DataInputDeserializer in2 = new DataInputDeserializer(new byte[] {9, 0, 0, 0, 0});
        assertThrows(IOException.class, () -> TileSerializer.INSTANCE.deserialize(in2));
    }
}
