package io.userpulse.flink.operator;

import static io.userpulse.flink.operator.Expected.DAY_MS;
import static io.userpulse.flink.operator.Expected.I1_I2;
import static io.userpulse.flink.operator.Expected.I1_I2_I3;
import static io.userpulse.flink.operator.Expected.I3;
import static io.userpulse.flink.operator.Expected.I3_I4;
import static io.userpulse.flink.operator.Expected.I4;
import static io.userpulse.flink.operator.Expected.I5;
import static io.userpulse.flink.operator.Expected.K1;
import static io.userpulse.flink.operator.Expected.K24;
import static io.userpulse.flink.operator.Expected.K5;
import static io.userpulse.flink.operator.Expected.K60;
import static io.userpulse.flink.operator.Expected.T0;
import static io.userpulse.flink.operator.Expected.standard;
import static io.userpulse.flink.operator.Expected.standardHash;
import static io.userpulse.flink.operator.Expected.standardLastK;
import static io.userpulse.flink.operator.Expected.tile;
import static io.userpulse.flink.operator.FeatureHarness.click;
import static io.userpulse.flink.operator.FeatureHarness.hover;
import static io.userpulse.flink.operator.FeatureHarness.scroll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.redis.RedisLayout;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * {@link FeatureFunction} restored from a snapshot, or meeting a user it holds no state of,
 * through Flink's keyed operator test harness against a real redis-server (as {@link
 * FeatureFunctionHarnessTest}): the restore rewrite of case H19, the revival from the stored
 * profile, and a revival replayed after a restore.
 *
 * <p>Spec: spec/default.json (see {@link FeatureFunctionHarnessTest}).
 */
class FeatureFunctionRestoreHarnessTest extends RedisHarnessTest {

    // ---- 7. restore rewrites in full (H19) ----

    @Test
    void aRestoredUserIsRewrittenInFullAtItsFirstEvent() throws Exception {
        OperatorSubtaskState snap;
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(standard("u1"));
            f.send(click("u2", "x1", T0, "i1"));
            f.fireFlushTimer();
            snap = f.h.snapshot(1, 100);
        }
        try (Jedis j = REDIS.admin()) {
            j.flushDB(); // Redis lost everything while the job was down
        }
        try (FeatureHarness f = FeatureHarness.restore(spec(), snap)) {
            f.fireFlushTimer();
            assertTrue(hash("u1").isEmpty(), "a restore alone writes nothing");

            f.send(scroll("u1", "e6", T0 + 61_500, 0.25));
            f.fireFlushTimer();

            Map<String, String> want = new TreeMap<>(standardHash());
            String patched = tile("2;1;1;0;0;;0.25;" + I3, T0 + 61_500);
            want.put(RedisLayout.tileField(1_000, K1 + 61), patched);
            want.put(RedisLayout.tileField(5_000, K5 + 12), patched);
            want.put(RedisLayout.tileField(60_000, K60 + 1), patched);
            want.put(RedisLayout.tileField(1_440_000, K24),
                    tile("6;2;2;2;420;300;0.5;" + I1_I2_I3, T0 + 61_500));
            want.put("ls", String.valueOf(T0 + 61_500));
            assertEquals(want, hash("u1"), "every tile the state holds, not only the touched ones");
            assertEquals("6;{\"c\":{\"CLICK\":2,\"HOVER\":2,\"SCROLL\":2},\"fs\":" + (T0 + 100)
                    + ",\"ls\":" + (T0 + 61_500) + ",\"k\":" + standardLastK() + ",\"s\":["
                    + (T0 + 100) + "," + (T0 + 61_500) + ",6],\"v\":6,\"rev\":\"e1\","
                    + "\"base\":null}", profile("u1"));
            assertTrue(hash("u2").isEmpty(), "u2 is rewritten at its own first event");
        }
    }

    // ---- 8. revival ----

    @Test
    void aUserWithoutStateContinuesItsStoredProfile() throws Exception {
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            for (String u : List.of("u-gone", "u-soon", "u-keep")) {
                f.send(click(u, u + "-1", T0 + 100, "i1"), hover(u, u + "-2", T0 + 200, "i2", 300));
            }
            f.fireFlushTimer();
            f.watermark(Long.MAX_VALUE); // state freed, Redis kept
            assertEquals(0, f.h.numKeyedStateEntries());
        }
        try (Jedis j = REDIS.admin()) { // the tile hashes expired, the profiles live on
            j.del(RedisLayout.userKey(RedisLayout.PREFIX, "u-gone"));
            j.del(RedisLayout.userKey(RedisLayout.PREFIX, "u-soon"));
        }
        long t1 = T0 + 2 * DAY_MS + 123;
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(click("u-gone", "g3", t1, "i5"), click("u-soon", "s3", T0 + 300, "i5"),
                    click("u-keep", "k3", t1, "i5"));
            f.fireFlushTimer();

            String one = tile("1;1;0;0;0;;;" + I5, t1);
            Map<String, String> gone = new TreeMap<>(Map.of(
                    RedisLayout.tileField(1_000, t1 / 1_000), one,
                    RedisLayout.tileField(5_000, t1 / 5_000), one,
                    RedisLayout.tileField(60_000, t1 / 60_000), one,
                    RedisLayout.tileField(1_440_000, t1 / 1_440_000), one,
                    "ls", String.valueOf(t1)));
            Map<String, String> keep = new TreeMap<>(gone);
            // marks: min(ls // g, event // g - 1) = the last tile of the stored ls
            gone.put(RedisLayout.prunedField(1_000), String.valueOf(K1));
            gone.put(RedisLayout.prunedField(5_000), String.valueOf(K5));
            gone.put(RedisLayout.prunedField(60_000), String.valueOf(K60));
            gone.put(RedisLayout.prunedField(1_440_000), String.valueOf(K24));
            assertEquals(gone, hash("u-gone"));
            String base = "{\"c\":{\"CLICK\":1,\"HOVER\":1},\"fs\":" + (T0 + 100) + ",\"ls\":"
                    + (T0 + 200) + ",\"k\":{\"CLICK\":[[" + (T0 + 100) + ",\"u-gone-1\",\"i1\"]],"
                    + "\"HOVER\":[[" + (T0 + 200) + ",\"u-gone-2\",\"i2\"]]},\"s\":[" + (T0 + 100)
                    + "," + (T0 + 200) + ",2],\"v\":2}";
            assertEquals("3;{\"c\":{\"CLICK\":2,\"HOVER\":1},\"fs\":" + (T0 + 100) + ",\"ls\":" + t1
                    + ",\"k\":{\"CLICK\":[[" + t1 + ",\"g3\",\"i5\"],[" + (T0 + 100)
                    + ",\"u-gone-1\",\"i1\"]],\"HOVER\":[[" + (T0 + 200)
                    + ",\"u-gone-2\",\"i2\"]]},\"s\":[" + t1 + "," + t1 + ",1],\"v\":3,"
                    + "\"rev\":\"g3\",\"base\":" + base + "}", profile("u-gone"));

            // the revival event is in the tiles of the stored ls: min(...) = event // g - 1
            String soonTile = tile("1;1;0;0;0;;;" + I5, T0 + 300);
            assertEquals(new TreeMap<>(Map.of(
                    RedisLayout.tileField(1_000, K1), soonTile,
                    RedisLayout.tileField(5_000, K5), soonTile,
                    RedisLayout.tileField(60_000, K60), soonTile,
                    RedisLayout.tileField(1_440_000, K24), soonTile,
                    "ls", String.valueOf(T0 + 300),
                    RedisLayout.prunedField(1_000), String.valueOf(K1 - 1),
                    RedisLayout.prunedField(5_000), String.valueOf(K5 - 1),
                    RedisLayout.prunedField(60_000), String.valueOf(K60 - 1),
                    RedisLayout.prunedField(1_440_000), String.valueOf(K24 - 1))),
                    hash("u-soon"));
            assertTrue(profile("u-soon").startsWith("3;{\"c\":{\"CLICK\":2,\"HOVER\":1},\"fs\":"
                    + (T0 + 100) + ",\"ls\":" + (T0 + 300) + ","), profile("u-soon"));
            assertTrue(profile("u-soon").contains(",\"s\":[" + (T0 + 100) + "," + (T0 + 300)
                    + ",3],\"v\":3,\"rev\":\"s3\","), "the stored session goes on");

            // the tile hash still exists: no mark, the old tiles stay
            keep.put(RedisLayout.tileField(1_000, K1), tile("2;1;0;1;300;300;;" + I1_I2, T0 + 200));
            keep.put(RedisLayout.tileField(5_000, K5), tile("2;1;0;1;300;300;;" + I1_I2, T0 + 200));
            keep.put(RedisLayout.tileField(60_000, K60),
                    tile("2;1;0;1;300;300;;" + I1_I2, T0 + 200));
            keep.put(RedisLayout.tileField(1_440_000, K24),
                    tile("2;1;0;1;300;300;;" + I1_I2, T0 + 200));
            assertEquals(keep, hash("u-keep"));
            assertTrue(profile("u-keep").startsWith("3;{\"c\":{\"CLICK\":2,\"HOVER\":1},"),
                    profile("u-keep"));
        }
    }

    // ---- 9. replay safety of revival ----

    @Test
    void aRevivalReplayedAfterARestoreCountsItsEventOnce() throws Exception {
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            f.send(click("u-rep", "r1", T0 + 100, "i1"), hover("u-rep", "r2", T0 + 200, "i2", 300));
            f.fireFlushTimer();
            f.watermark(Long.MAX_VALUE);
        }
        String base = "{\"c\":{\"CLICK\":1,\"HOVER\":1},\"fs\":" + (T0 + 100) + ",\"ls\":"
                + (T0 + 200) + ",\"k\":{\"CLICK\":[[" + (T0 + 100) + ",\"r1\",\"i1\"]],"
                + "\"HOVER\":[[" + (T0 + 200) + ",\"r2\",\"i2\"]]},\"s\":[" + (T0 + 100) + ","
                + (T0 + 200) + ",2],\"v\":2}";
        long t1 = T0 + 2 * DAY_MS;
        Event revival = click("u-rep", "r3", t1, "i3");
        OperatorSubtaskState beforeRevival;
        String revived;
        try (FeatureHarness f = FeatureHarness.open(spec())) {
            beforeRevival = f.h.snapshot(1, 100);
            f.send(revival);
            f.fireFlushTimer();
            revived = profile("u-rep");
            assertEquals("3;{\"c\":{\"CLICK\":2,\"HOVER\":1},\"fs\":" + (T0 + 100) + ",\"ls\":" + t1
                    + ",\"k\":{\"CLICK\":[[" + t1 + ",\"r3\",\"i3\"],[" + (T0 + 100)
                    + ",\"r1\",\"i1\"]],\"HOVER\":[[" + (T0 + 200) + ",\"r2\",\"i2\"]]},\"s\":["
                    + t1 + "," + t1 + ",1],\"v\":3,\"rev\":\"r3\",\"base\":" + base + "}", revived);
        } // the job fails; it restarts from the checkpoint taken before the revival
        try (FeatureHarness f = FeatureHarness.restore(spec(), beforeRevival)) {
            f.send(revival); // replayed from Kafka
            f.fireFlushTimer();
            assertEquals(revived, profile("u-rep"), "the replay starts from the same base");

            f.send(hover("u-rep", "r4", t1 + 1_000, "i4", 10));
            f.fireFlushTimer();
            assertEquals("4;{\"c\":{\"CLICK\":2,\"HOVER\":2},\"fs\":" + (T0 + 100) + ",\"ls\":"
                    + (t1 + 1_000) + ",\"k\":{\"CLICK\":[[" + t1 + ",\"r3\",\"i3\"],[" + (T0 + 100)
                    + ",\"r1\",\"i1\"]],\"HOVER\":[[" + (t1 + 1_000) + ",\"r4\",\"i4\"],["
                    + (T0 + 200) + ",\"r2\",\"i2\"]]},\"s\":[" + t1 + "," + (t1 + 1_000)
                    + ",2],\"v\":4,\"rev\":\"r3\",\"base\":" + base + "}", profile("u-rep"),
                    "r3 counted once");
            assertEquals(tile("2;1;0;1;10;10;;" + I3_I4, t1 + 1_000),
                    hash("u-rep").get(RedisLayout.tileField(5_000, t1 / 5_000)));
            assertEquals(tile("1;0;0;1;10;10;;" + I4, t1 + 1_000),
                    hash("u-rep").get(RedisLayout.tileField(1_000, t1 / 1_000 + 1)));
        }
    }
}
