package io.userpulse.flink.tiles;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.profile.ProfileFolder;
import io.userpulse.flink.redis.RedisLayout;
import io.userpulse.flink.spec.JobSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Replays the Python golden vectors (vectors/tilestate.json, tests/unit/jvm_vectors.py) through
 * TileState + ProfileFolder and asserts identical touched tiles (v1 encoding), cleanup times,
 * profile records, pre-merged window fields ({@link Premerge}), expiry results and remaining
 * tiles. Runs twice: with heap-like state (objects
 * kept) and with RocksDB-like state (every tile and head through the serializers).
 */
class TileStateVectorsTest {

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void replayMatchesPython(boolean serialized) throws Exception {
        JobSpec spec = Vectors.defaultSpec();
        JsonNode doc = Vectors.json("vectors/tilestate.json");
        assertEquals(doc.get("allowed_lateness_ms").longValue(), spec.job().allowedLatenessMs());
        TileState state = TileState.of(spec);
        ProfileFolder folder = ProfileFolder.of(spec);
        int ops = 0;
        for (JsonNode c : doc.get("cases")) {
            ops += replay(c, state, folder, serialized);
        }
        assertTrue(ops > 1000, "ops replayed: " + ops);
    }

    private static int replay(JsonNode c, TileState state, ProfileFolder folder, boolean ser)
            throws Exception {
        String name = c.get("name").textValue();
        TileStore older = ser ? new SerializingTileStore() : new MapTileStore();
        Touched touched = state.newTouched();
        Head head = null;
        int step = 0;
        for (JsonNode op : c.get("ops")) {
            String where = name + " op " + step++;
            JsonNode x = op.get("expect");
            switch (op.get("op").textValue()) {
                case "event" -> {
                    Event e = Vectors.event(op.get("event"));
                    if (op.has("revive")) {
                        assertNull(head, where + ": Java holds state, Python revives");
                        JsonNode r = op.get("revive");
                        head = state.newHead(folder.revive(r.isNull() ? null : r.textValue(), e));
                    } else {
                        assertNotNull(head, where + ": Java holds no state");
                    }
                    long cleanup = state.fold(head, older, e, touched);
                    folder.fold(head.profile(), e, op.get("wm").longValue());
                    JsonNode tx = x.get("touched");
                    assertEquals(tx.size(), touched.size(), where);
                    for (int i = 0; i < touched.size(); i++) {
                        JsonNode t = tx.get(i);
                        assertEquals(t.get(0).longValue(), touched.tileMs(i), where);
                        assertEquals(t.get(1).longValue(), touched.index(i), where);
                        Tile tile = touched.tile(i);
                        assertEquals(t.get(2).textValue(), Vectors.shortened(TileCodec.encode(tile)),
                                () -> where + " tile " + TileCodec.encode(tile));
                    }
                    assertEquals(time(x.get("cleanup")), cleanup, where + " cleanup");
                    String record = head.profile().recordJson();
                    assertEquals(x.get("profile").textValue(), Vectors.shortened(record),
                            () -> where + " profile " + record);
                    assertPremerged(x.get("premerged"), state, head, older, where);
                }
                case "expire" -> {
                    assertNotNull(head, where);
                    Expired ex = state.expire(head, older, op.get("wm").longValue());
                    JsonNode dx = x.get("dropped");
                    int slotsDropped = 0;
                    for (int s = 0; s < ex.slotCount(); s++) {
                        long[] d = ex.dropped(s);
                        JsonNode want = dx.get(Long.toString(ex.tileMs(s)));
                        if (d.length == 0) {
                            assertNull(want, where + " slot " + s);
                            continue;
                        }
                        slotsDropped++;
                        assertNotNull(want, where + " slot " + s);
                        assertEquals(want.size(), d.length, where);
                        for (int i = 0; i < d.length; i++) {
                            assertEquals(want.get(i).longValue(), d[i], where);
                        }
                    }
                    assertEquals(dx.size(), slotsDropped, where);
                    assertEquals(time(x.get("next")), ex.nextCleanupMs(), where + " next");
                    assertEquals(x.get("tiles").textValue(), Vectors.shortened(lines(state, head,
                            older)), where + " tiles");
                    if (ex.stateFreed()) {
                        head = null;
                        for (long k : keys(older)) {
                            older.remove(k);
                        }
                    }
                }
                case "restore" -> {
                    head = null;
                    assertEquals(0, keys(older).size(), where);
                }
                default -> throw new AssertionError(where + ": unknown op " + op);
            }
            if (ser && head != null) {
                head = roundTrip(head);
            }
        }
        return step;
    }

    /** The pre-merged fields as of the vector's T equal Python's ({@code userpulse.premerge}). */
    private static void assertPremerged(JsonNode want, TileState state, Head head, TileStore older,
            String where) throws Exception {
        Premerge premerge = new Premerge(Vectors.defaultSpec().features());
        long asOf = want.get("as_of").longValue();
        Premerge.Values v = premerge.of(state.allTiles(head, older), asOf);
        StringBuilder sb = new StringBuilder();
        sb.append(RedisLayout.META_PREMERGED).append('=')
                .append(RedisLayout.premergedMeta(head.profile().version(), asOf)).append('\n');
        for (int i = 0; i < premerge.windowCount(); i++) {
            sb.append(RedisLayout.premergedField(premerge.windowMs(i))).append('=')
                    .append(RedisLayout.premergedValue(v.validUntilMs[i], TileCodec.encode(v.merged[i])))
                    .append('\n');
        }
        String got = sb.toString();
        assertEquals(want.get("fields").textValue(), Vectors.shortened(got),
                () -> where + " premerged as of " + asOf + "\n" + got);
        assertEquals(time(want.get("refresh")), v.refreshAtMs() == Premerge.NONE
                ? TileState.NONE : v.refreshAtMs(), where + " refresh");
    }

    private static long time(JsonNode n) {
        return n.isNull() ? TileState.NONE : n.longValue();
    }

    private static String lines(TileState state, Head head, TileStore older) throws Exception {
        List<TileRef> all = new ArrayList<>(state.allTiles(head, older));
        all.sort(Comparator.comparingLong(TileRef::tileMs).thenComparingLong(TileRef::index));
        StringBuilder sb = new StringBuilder();
        for (TileRef t : all) {
            sb.append(t.tileMs()).append(' ').append(t.index()).append(' ')
                    .append(TileCodec.encode(t.tile())).append('\n');
        }
        return sb.toString();
    }

    private static List<Long> keys(TileStore s) throws Exception {
        List<Long> out = new ArrayList<>();
        s.keys().forEach(out::add);
        return out;
    }

    static Head roundTrip(Head h) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        HeadSerializer.INSTANCE.serialize(h, out);
        Head back = HeadSerializer.INSTANCE.deserialize(new DataInputDeserializer(
                out.getCopyOfBuffer()));
        assertEquals(h, back);
        return back;
    }
}
