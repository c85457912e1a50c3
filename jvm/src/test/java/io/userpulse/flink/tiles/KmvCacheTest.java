package io.userpulse.flink.tiles;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A sketch keeps its base64 between changes ({@link Kmv#base64()}): after every add (kept,
 * dropped or duplicate) and after a copy it must equal the base64 of its current hashes; so must
 * what {@link Kmv#appendBase64} appends, at every size (small sketches go through a scratch).
 */
class KmvCacheTest {

    @Test
    void base64FollowsEveryChange() {
        Random r = new Random(11);
        Kmv s = new Kmv();
        assertEquals("", s.base64());
        StringBuilder empty = new StringBuilder("a;");
        s.appendBase64(empty);
        assertEquals("a;", empty.toString());
        for (int i = 0; i < 5_000; i++) {
            int h = r.nextInt(i < 2_000 ? Integer.MAX_VALUE : 1 << 26) * (r.nextBoolean() ? 1 : -1);
            s.add(i % 50 == 49 ? (int) s.hash(0) : h, 64); // every 50th a duplicate
            String expected = Base64.getEncoder().encodeToString(s.toBigEndianBytes());
            StringBuilder sb = new StringBuilder("a;");
            s.appendBase64(sb);
            assertEquals("a;" + expected, sb.toString(), "appended after add " + i);
            assertEquals(expected, s.base64(), "after add " + i);
            if (i % 997 == 0) {
                Kmv c = s.copy();
                c.add(1, 64);
                assertEquals(Base64.getEncoder().encodeToString(c.toBigEndianBytes()), c.base64());
                assertEquals(Base64.getEncoder().encodeToString(s.toBigEndianBytes()), s.base64());
            }
        }
    }
}
