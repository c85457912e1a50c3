package io.userpulse.flink.tiles;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Base64;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/** Value hash, KMV adds, sketch encoding and retention against vectors/sketch.json (Python). */
class SketchVectorsTest {

    private static final JsonNode DOC = Vectors.json("vectors/sketch.json");

    @Test
    void blake2b32MatchesPythonValueHash() {
        ValueHash own = new ValueHash();
        for (JsonNode v : DOC.get("hashes")) {
            String s = v.get(0).textValue();
            long want = v.get(1).longValue();
            assertEquals(want, Integer.toUnsignedLong(ValueHash.blake2b32(s)), s);
            assertEquals(want, Integer.toUnsignedLong(own.hash(s)), s);
        }
        assertEquals(52, DOC.get("hashes").size());
    }

    @Test
    void kmvAddMatchesPythonAfterEveryAdd() {
        for (JsonNode c : DOC.get("kmv")) {
            int k = c.get("k").intValue();
            Kmv s = new Kmv();
            JsonNode adds = c.get("adds");
            for (int i = 0; i < adds.size(); i++) {
                s.add((int) adds.get(i).longValue(), k);
                JsonNode want = c.get("after").get(i);
                assertEquals(want.size(), s.size(), "k=" + k + " add " + i);
                for (int j = 0; j < s.size(); j++) {
                    assertEquals(want.get(j).longValue(), s.hash(j), "k=" + k + " add " + i);
                }
            }
        }
    }

    @Test
    void sketchEncodingMatchesPython() {
        for (JsonNode c : DOC.get("encoded")) {
            Kmv s = new Kmv();
            for (JsonNode h : c.get(0)) {
                s.add((int) h.longValue(), 1 << 20);
            }
            assertEquals(c.get(1).textValue(),
                    Base64.getEncoder().encodeToString(s.toBigEndianBytes()));
        }
    }

    @Test
    void retentionMatchesPython() {
        Retention r = Retention.of(Vectors.defaultSpec());
        for (JsonNode v : DOC.get("retention")) {
            assertEquals(v.get(2).longValue(), r.cleanupMs(v.get(0).longValue(),
                    v.get(1).longValue()), v.toString());
        }
        assertThrows(IllegalArgumentException.class, () -> r.cleanupMs(7, 1));
    }

    @Test
    void tileKeysPackSlotAndSignedIndex() {
        for (long k : new long[] {0, 1, -1, 1_764_460_800L, TileKeys.MAX_INDEX, TileKeys.MIN_INDEX}) {
            for (int slot : new int[] {0, 3, 254}) {
                long key = TileKeys.pack(slot, k);
                assertEquals(slot, TileKeys.slot(key));
                assertEquals(k, TileKeys.index(key));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> TileKeys.pack(255, 0));
        assertThrows(IllegalArgumentException.class, () -> TileKeys.pack(0, TileKeys.MAX_INDEX + 1));
    }
}
