package io.userpulse.flink.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.event.EventType;
import io.userpulse.flink.tiles.Vectors;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The last-k lists keep each entry's JSON between writes ({@link LastK}): a profile encoded after
 * every fold (the cache in use) must equal the same profile rebuilt without a cache, through
 * inserts at the head, in the middle, past k, duplicates and escaped strings.
 */
class EncodingCacheTest {

    private final ProfileFolder folder = ProfileFolder.of(Vectors.defaultSpec());

    @Test
    void cachedEntriesEncodeLikeAFreshList() {
        Random r = new Random(7);
        Profile p = new Profile();
        for (int i = 0; i < 400; i++) {
            Event e = new Event();
            e.eventId = "e" + r.nextInt(60) + (i % 17 == 0 ? "\"\\\u00e9\n" : "");
            e.eventType = r.nextBoolean() ? EventType.CLICK : EventType.HOVER;
            e.userId = "u";
            // mostly newer, sometimes older (insert in the middle or past k), sometimes equal
            e.eventTimeMs = 1_000_000L + i * 10L - (r.nextInt(5) == 0 ? r.nextInt(3000) : 0);
            e.itemId = r.nextInt(9) == 0 ? null : "i" + r.nextInt(30);
            folder.fold(p, e, Long.MIN_VALUE);
            String cached = p.recordJson();
            assertEquals(uncached(p), cached, "after event " + i);
        }
    }

    /** The record JSON of a copy whose last-k lists were rebuilt entry by entry (no cache). */
    private static String uncached(Profile p) {
        Profile c = p.copy();
        for (int i = 0; i < c.lastKSize; i++) {
            LastK src = c.lastK[i];
            LastK fresh = new LastK(src.type, src.size);
            for (int j = 0; j < src.size; j++) {
                fresh.append(src.times[j], src.eventIds[j], src.itemIds[j]);
            }
            c.lastK[i] = fresh;
        }
        return c.recordJson();
    }
}
