package io.userpulse.flink.operator;

import static io.userpulse.flink.operator.Expected.I1;
import static io.userpulse.flink.operator.Expected.I1_I2;
import static io.userpulse.flink.operator.Expected.I1_I2_I3;
import static io.userpulse.flink.operator.Expected.I1_I2_I5;
import static io.userpulse.flink.operator.Expected.I1_I5;
import static io.userpulse.flink.operator.Expected.I3;
import static io.userpulse.flink.operator.Expected.I5;
import static io.userpulse.flink.operator.Expected.K1;
import static io.userpulse.flink.operator.Expected.K24;
import static io.userpulse.flink.operator.Expected.K5;
import static io.userpulse.flink.operator.Expected.K60;
import static io.userpulse.flink.operator.Expected.LATENESS_MS;
import static io.userpulse.flink.operator.Expected.T0;
import static io.userpulse.flink.operator.Expected.standard;
import static io.userpulse.flink.operator.Expected.standardHash;
import static io.userpulse.flink.operator.Expected.standardProfile;
import static io.userpulse.flink.operator.Expected.tile;
import static io.userpulse.flink.operator.FeatureHarness.click;
import static io.userpulse.flink.operator.FeatureHarness.hover;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.redis.RedisLayout;
import io.userpulse.flink.spec.JobSpec;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * {@link FeatureFunction} through Flink's keyed operator test harness against a real
 * redis-server: elements, watermarks and processing time are fed by hand; every test reads the
 * values back from Redis (layout v1, docs/key-layout.md) and compares them with values computed
 * by hand ({@link Expected}).
 *
 * <p>Restores and revivals: {@link FeatureFunctionRestoreHarnessTest}. Spec: spec/default.json
 * (tiles 1 s, 5 s, 1 min, 24 min; 60 retention tiles each; allowed lateness 10 min; retention
 * granularity 1 min; flush every 5 ms, at 500 staged users).
 */
class FeatureFunctionHarnessTest extends RedisHarnessTest {

    // ---- 1. in-order events, flushed by the processing-time timer ----

    @Test
    void inOrderEventsAreWrittenWhenTheFlushTimerFires() throws Exception {
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(standard("u1"));
            assertEquals(1, f.h.numProcessingTimeTimers(), "one flush timer per flush cycle");
            assertTrue(hash("u1").isEmpty(), "nothing written before the flush timer");
            assertNull(profile("u1"));

            f.fireFlushTimer();

            assertEquals(0, f.h.numProcessingTimeTimers());
            assertEquals(standardHash(), hash("u1"));
            assertEquals(standardProfile(), profile("u1"));
            try (Jedis j = REDIS.admin()) {
                long ttl = j.ttl(RedisLayout.userKey(RedisLayout.PREFIX, "u1"));
                long pttl = j.ttl(RedisLayout.profileKey(RedisLayout.PREFIX, "u1"));
                assertTrue(ttl > 90_600 - 10 && ttl <= 90_600, "tile hash TTL " + ttl);
                assertTrue(pttl > 34_560_000 - 10 && pttl <= 34_560_000, "profile TTL " + pttl);
            }
            // one cleanup timer (the earliest cleanup: the 1 s tile of e1/e2), all in keyed state
            assertEquals(1, f.h.numEventTimeTimers());
            assertTrue(f.h.numKeyedStateEntries() > 0);
        }
    }

    // ---- 2. coalescing ----

    @Test
    void manyEventsOfOneUserInOneFlushAreOneWrite() throws Exception {
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(click("warm-up", "w", T0, "i1")); // loads the script on the connection
            f.fireFlushTimer();
            resetStats();

            for (int i = 0; i < 40; i++) {
                f.send(click("u-many", "m" + i, T0 + 10L * i, "i1"));
            }
            for (int i = 0; i < 5; i++) {
                f.send(click("u-other", "o" + i, T0 + 10L * i, "i1"));
            }
            assertEquals(1, f.h.numProcessingTimeTimers());
            f.fireFlushTimer();

            assertEquals(2, commandCalls("evalsha"), "one EVALSHA per user per flush");
            assertEquals(2, commandCalls("hmget"), "one script run per user (its HMGET)");
            assertEquals(2, commandCalls("exists"), "one profile read per new user, not per event");
            assertEquals(tile("40;40;0;0;0;;;" + I1, T0 + 390),
                    hash("u-many").get(RedisLayout.tileField(1_000, K1)));
            assertEquals(tile("5;5;0;0;0;;;" + I1, T0 + 40),
                    hash("u-other").get(RedisLayout.tileField(1_000, K1)));
            assertTrue(profile("u-many").startsWith("40;{\"c\":{\"CLICK\":40},"),
                    profile("u-many"));
        }
    }

    // ---- 3. lateness ----

    @Test
    void anEventBeyondTheAllowedLatenessGoesToTheLateOutputAndOneAtTheBoundIsCounted()
            throws Exception {
        long w = T0 + 3_600_000;
        long old = w - LATENESS_MS; // T0 + 3,000,000: 1 s tile K1 + 3000
        double counted0 = metrics.counted().get();
        double late0 = metrics.late().get();
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(click("u-late", "a", old + 100, "i1"), click("u-late", "b", w, "i2"));
            f.watermark(w);
            f.fireFlushTimer();
            String oldTile = RedisLayout.tileField(1_000, K1 + 3_000);
            assertEquals(tile("1;1;0;0;0;;;" + I1, old + 100), hash("u-late").get(oldTile));

            Event late = click("u-late", "late", old - 1, "i9");
            f.send(late);
            assertEquals(List.of("{\"allowed_lateness_ms\": 600000, \"dwell_ms\": null, "
                    + "\"event_id\": \"late\", \"event_time_ms\": " + (old - 1) + ", "
                    + "\"event_type\": \"CLICK\", \"item_id\": \"i9\", \"offset\": 7, "
                    + "\"partition\": 2, \"scroll_depth\": null, \"topic\": \"events\", "
                    + "\"user_id\": \"u-late\", \"watermark_ms\": " + w + "}"), f.late());
            assertEquals(0, f.h.numProcessingTimeTimers(), "a late event stages nothing");

            f.send(hover("u-late", "c", old, "i5", 50)); // exactly watermark - allowed lateness
            assertEquals(1, f.late().size());
            f.fireFlushTimer();

            Map<String, String> got = hash("u-late");
            assertEquals(tile("2;1;0;1;50;50;;" + I1_I5, old + 100), got.get(oldTile),
                    "the older tile (from state) is patched");
            assertFalse(got.containsKey(RedisLayout.tileField(1_000, K1 + 2_999)),
                    "the late event's tile is not written");
            assertEquals(tile("2;1;0;1;50;50;;" + I1_I5, old + 100),
                    got.get(RedisLayout.tileField(60_000, K60 + 50)));
            // 24 min tile K24 + 2 holds all three counted events
            assertEquals(tile("3;2;0;1;50;50;;" + I1_I2_I5, w),
                    got.get(RedisLayout.tileField(1_440_000, K24 + 2)));
            assertEquals(String.valueOf(w), got.get("ls"));
            assertTrue(profile("u-late").startsWith("3;{\"c\":{\"CLICK\":2,\"HOVER\":1},"
                    + "\"fs\":" + old + ",\"ls\":" + w + ","), profile("u-late"));
        }
        assertEquals(3, metrics.counted().get() - counted0, "userpulse_events_counted_total");
        assertEquals(1, metrics.late().get() - late0, "userpulse_events_late_total");
    }

    // ---- 4. retention ----

    @Test
    void tilesPastRetentionAreDeletedAndTheLastOneFreesTheUsersState() throws Exception {
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(click("u-ret", "r1", T0 + 500, "i1"));
            f.fireFlushTimer();
            String one = tile("1;1;0;0;0;;;" + I1, T0 + 500);
            Map<String, String> all = Map.of(
                    RedisLayout.tileField(1_000, K1), one,
                    RedisLayout.tileField(5_000, K5), one,
                    RedisLayout.tileField(60_000, K60), one,
                    RedisLayout.tileField(1_440_000, K24), one,
                    "ls", String.valueOf(T0 + 500));
            assertEquals(all, hash("u-ret"));

            // the 1 s tile: end T0+1000 + 60 tiles + 10 min lateness = T0+661,000 -> T0+720,000
            f.watermark(T0 + 719_999);
            f.fireFlushTimer();
            assertEquals(all, hash("u-ret"));
            f.watermark(T0 + 720_000);
            assertEquals(1, f.h.numProcessingTimeTimers(), "the pruning is flushed by the timer");
            f.fireFlushTimer();
            Map<String, String> want = new TreeMap<>(all);
            want.remove(RedisLayout.tileField(1_000, K1));
            want.put(RedisLayout.prunedField(1_000), String.valueOf(K1));
            assertEquals(want, hash("u-ret"));
            assertTrue(f.h.numKeyedStateEntries() > 0);
            assertEquals(1, f.h.numEventTimeTimers(), "next cleanup: the 5 s tile");

            // 5 s tile: T0+905,000 -> T0+960,000
            f.watermark(T0 + 960_000);
            f.fireFlushTimer();
            want.remove(RedisLayout.tileField(5_000, K5));
            want.put(RedisLayout.prunedField(5_000), String.valueOf(K5));
            assertEquals(want, hash("u-ret"));

            // 1 min tile: T0+4,260,000; 24 min tile: T0+1,440,000+24 h+10 min = T0+88,440,000
            f.watermark(T0 + 88_439_999);
            f.fireFlushTimer();
            want.remove(RedisLayout.tileField(60_000, K60));
            want.put(RedisLayout.prunedField(60_000), String.valueOf(K60));
            assertEquals(want, hash("u-ret"));
            assertTrue(f.h.numKeyedStateEntries() > 0);

            f.watermark(T0 + 88_440_000);
            f.fireFlushTimer();
            want.remove(RedisLayout.tileField(1_440_000, K24));
            want.put(RedisLayout.prunedField(1_440_000), String.valueOf(K24));
            assertEquals(want, hash("u-ret"));
            assertEquals(0, f.h.numKeyedStateEntries(), "no keyed state left for the user");
            assertEquals(0, f.h.numEventTimeTimers(), "no event-time timer left");
            assertEquals(0, f.h.numProcessingTimeTimers());
            assertTrue(profile("u-ret").startsWith("1;"), "the profile outlives the tiles");
        }
    }

    // ---- 5. end of input ----

    @Test
    void endOfInputFreesTheStateButDeletesNothingInRedis() throws Exception {
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(standard("u-end"));
            f.fireFlushTimer();
            assertEquals(standardHash(), hash("u-end"));

            f.watermark(Long.MAX_VALUE);

            assertEquals(0, f.h.numKeyedStateEntries());
            assertEquals(0, f.h.numEventTimeTimers());
            assertEquals(0, f.h.numProcessingTimeTimers(), "nothing staged");
            f.fireFlushTimer();
            assertEquals(standardHash(), hash("u-end"), "no tile deleted, no p: mark");
            assertEquals(standardProfile(), profile("u-end"));
        }
    }

    // ---- 6. flush on checkpoint ----

    @Test
    void aCheckpointFlushesTheStagedWrites() throws Exception {
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(standard("u-ckpt"));
            assertTrue(hash("u-ckpt").isEmpty());

            f.h.snapshot(1, 100);

            assertEquals(standardHash(), hash("u-ckpt"), "written before the checkpoint completes");
            assertEquals(standardProfile(), profile("u-ckpt"));
            assertEquals(1, f.h.numProcessingTimeTimers(), "the flush timer was not needed");
        }
    }

    // ---- 10. flush_max_pending ----

    @Test
    void reachingFlushMaxPendingFlushesWithoutTheTimer() throws Exception {
        JobSpec spec = FeatureHarness.spec(REDIS.port(),
                d -> ((ObjectNode) d.get("job")).put("flush_max_pending", 2));
        try (FeatureHarness f = FeatureHarness.open(spec)) {
            f.send(click("a", "a1", T0, "i1"));
            assertTrue(hash("a").isEmpty(), "one user staged: below flush_max_pending");
            f.send(click("b", "b1", T0, "i1"));
            assertFalse(hash("a").isEmpty(), "two users staged: flushed at once");
            assertFalse(hash("b").isEmpty());
            f.send(click("c", "c1", T0, "i1"));
            assertTrue(hash("c").isEmpty(), "a new cycle: c waits for the timer");
            f.fireFlushTimer();
            assertEquals(tile("1;1;0;0;0;;;" + I1, T0),
                    hash("c").get(RedisLayout.tileField(1_000, K1)));
        }
    }

    // ---- 11. out-of-order events into older tiles, then retention ----

    @Test
    void outOfOrderEventsCreateAndPatchOlderTilesThatRetentionFreesInTurn() throws Exception {
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(click("u-ooo", "a", T0 + 65_000, "i3"),
                    hover("u-ooo", "b", T0 + 100, "i2", 40), // older tiles, new in state
                    click("u-ooo", "c", T0 + 200, "i1")); // patches them (read from MapState)
            f.fireFlushTimer();
            String older = tile("2;1;0;1;40;40;;" + I1_I2, T0 + 200);
            String newer = tile("1;1;0;0;0;;;" + I3, T0 + 65_000);
            Map<String, String> want = new TreeMap<>();
            want.put(RedisLayout.tileField(1_000, K1), older);
            want.put(RedisLayout.tileField(5_000, K5), older);
            want.put(RedisLayout.tileField(60_000, K60), older);
            want.put(RedisLayout.tileField(1_000, K1 + 65), newer);
            want.put(RedisLayout.tileField(5_000, K5 + 13), newer);
            want.put(RedisLayout.tileField(60_000, K60 + 1), newer);
            want.put(RedisLayout.tileField(1_440_000, K24),
                    tile("3;2;0;1;40;40;;" + I1_I2_I3, T0 + 65_000));
            want.put("ls", String.valueOf(T0 + 65_000));
            assertEquals(want, hash("u-ooo"));
            // cleanups: 1 s K1+65 at T0+780,000 (first tile), then 1 s K1 at T0+720,000 (earlier)
            assertEquals(2, f.h.numEventTimeTimers());

            f.watermark(T0 + 720_000);
            f.fireFlushTimer();
            want.remove(RedisLayout.tileField(1_000, K1));
            want.put(RedisLayout.prunedField(1_000), String.valueOf(K1));
            assertEquals(want, hash("u-ooo"));

            f.watermark(T0 + 780_000);
            f.fireFlushTimer();
            want.remove(RedisLayout.tileField(1_000, K1 + 65));
            want.put(RedisLayout.prunedField(1_000), String.valueOf(K1 + 65));
            assertEquals(want, hash("u-ooo"));

            f.watermark(T0 + 88_440_000);
            f.fireFlushTimer();
            assertEquals(new TreeMap<>(Map.of(
                    "ls", String.valueOf(T0 + 65_000),
                    RedisLayout.prunedField(1_000), String.valueOf(K1 + 65),
                    RedisLayout.prunedField(5_000), String.valueOf(K5 + 13),
                    RedisLayout.prunedField(60_000), String.valueOf(K60 + 1),
                    RedisLayout.prunedField(1_440_000), String.valueOf(K24))), hash("u-ooo"));
            assertEquals(0, f.h.numKeyedStateEntries());
            assertEquals(0, f.h.numEventTimeTimers());
        }
    }

    // ---- 12. revival in the same job, the freed state's last write still staged ----

    @Test
    void aUserComingBackBeforeTheFreedStatesWriteIsFlushedContinuesIt() throws Exception {
        long t2 = T0 + 88_440_000; // the watermark that freed the state: not late
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(click("u-back", "b1", T0 + 500, "i1"));
            f.watermark(t2); // frees every tile before the first write was flushed
            assertEquals(0, f.h.numKeyedStateEntries());
            assertTrue(hash("u-back").isEmpty(), "still staged");

            f.send(click("u-back", "b2", t2, "i5")); // revival: flushes first, then reads
            f.fireFlushTimer();

            String one = tile("1;1;0;0;0;;;" + I5, t2);
            assertEquals(new TreeMap<>(Map.of(
                    RedisLayout.tileField(1_000, t2 / 1_000), one,
                    RedisLayout.tileField(5_000, t2 / 5_000), one,
                    RedisLayout.tileField(60_000, t2 / 60_000), one,
                    RedisLayout.tileField(1_440_000, t2 / 1_440_000), one,
                    "ls", String.valueOf(t2),
                    RedisLayout.prunedField(1_000), String.valueOf(K1),
                    RedisLayout.prunedField(5_000), String.valueOf(K5),
                    RedisLayout.prunedField(60_000), String.valueOf(K60),
                    RedisLayout.prunedField(1_440_000), String.valueOf(K24))), hash("u-back"));
            String base = "{\"c\":{\"CLICK\":1},\"fs\":" + (T0 + 500) + ",\"ls\":" + (T0 + 500)
                    + ",\"k\":{\"CLICK\":[[" + (T0 + 500) + ",\"b1\",\"i1\"]]},\"s\":[" + (T0 + 500)
                    + "," + (T0 + 500) + ",1],\"v\":1}";
            assertEquals("2;{\"c\":{\"CLICK\":2},\"fs\":" + (T0 + 500) + ",\"ls\":" + t2
                    + ",\"k\":{\"CLICK\":[[" + t2 + ",\"b2\",\"i5\"],[" + (T0 + 500)
                    + ",\"b1\",\"i1\"]]},\"s\":[" + t2 + "," + t2 + ",1],\"v\":2,\"rev\":\"b2\","
                    + "\"base\":" + base + "}", profile("u-back"));
        }
    }

    // ---- helpers ----

    static void resetStats() {
        try (Jedis j = REDIS.admin()) { j.configResetStat(); }
    }

    /** {@code calls} of {@code cmdstat_<command>} in INFO commandstats (0 when absent). */
    static long commandCalls(String command) {
        try (Jedis j = REDIS.admin()) {
            Matcher m = Pattern.compile("cmdstat_" + command + ":calls=(\\d+)")
                    .matcher(j.info("commandstats"));
            return m.find() ? Long.parseLong(m.group(1)) : 0;
        }
    }
}
