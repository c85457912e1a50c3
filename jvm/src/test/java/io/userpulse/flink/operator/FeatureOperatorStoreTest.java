package io.userpulse.flink.operator;

import static io.userpulse.flink.operator.Expected.T0;
import static io.userpulse.flink.operator.FeatureHarness.click;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.metrics.JobMetrics;
import io.userpulse.flink.redis.RedisLayout;
import io.userpulse.flink.redis.RedisServerExtension;
import io.userpulse.flink.spec.JobSpec;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;

/**
 * {@link FeatureOperator} through the keyed operator test harness against a real redis-server:
 * a key Redis refuses (case H20) is one dead-letter record and a counter while the other users
 * are written; a store that lost data (case H22: FLUSHALL, one user's keys evicted) is rewritten
 * from keyed state in full, byte for byte as before the loss; with {@code store.loss_rewrite}
 * off (the control) it is not.
 */
class FeatureOperatorStoreTest {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String P = RedisLayout.PREFIX;
    private static JobMetrics metrics() throws Exception {
        return JobMetrics.acquire(0, "127.0.0.1"); // the operators' registry: read as deltas
    }

    private static JobSpec spec(boolean lossRewrite) {
        return FeatureHarness.spec(REDIS.port(), d -> d.putObject("store")
                .put("loss_rewrite", lossRewrite).put("check_interval_ms", 1_000));
    }

    /** The user's hash without the generation field, and its profile value. */
    private static Map<String, String> stored(Jedis r, String user) {
        Map<String, String> h = new TreeMap<>(r.hgetAll(RedisLayout.userKey(P, user)));
        h.remove(RedisLayout.META_GENERATION);
        h.put("(profile)", r.get(RedisLayout.profileKey(P, user)));
        return h;
    }

    private static void tick(FeatureHarness f) throws Exception {
        f.h.setProcessingTime(f.h.getProcessingTime() + f.spec.store().checkIntervalMs());
    }

    @Test
    void aKeyRedisRefusesIsOneDeadLetterAndTheOthersAreWritten() throws Exception {
        try (JobMetrics metrics = metrics(); Jedis r = REDIS.admin();
                FeatureHarness f = FeatureHarness.operator(spec(true), null)) {
            double read0 = metrics.storeErrors("read").get();
            double write0 = metrics.storeErrors("write").get();
            double counted0 = metrics.counted().get();
            r.hset(RedisLayout.profileKey(P, "r2"), "x", "a hash where a string belongs");
            f.send(click("r1", "e1", T0 + 1_000, "i1"), click("r2", "e2", T0 + 1_000, "i1"),
                    click("r3", "e3", T0 + 1_000, "i1"));
            f.fireFlushTimer();
            f.send(click("r2", "e4", T0 + 2_000, "i1")); // refused again: not reported again
            f.fireFlushTimer();
            tick(f);
            assertEquals("1", r.hget(RedisLayout.userKey(P, "r1"), "t:60000:" + (T0 + 1_000) / 60_000)
                    .split(";")[1]);
            assertTrue(r.exists(RedisLayout.userKey(P, "r3")));
            assertFalse(r.exists(RedisLayout.userKey(P, "r2")));
            List<String> dl = f.storeErrors();
            assertEquals(1, dl.size(), dl.toString());
            JsonNode d = JSON.readTree(dl.get(0));
            assertEquals("store_error", d.get("error_class").asText());
            assertEquals("read", d.get("op").asText());
            assertEquals("r2", d.get("user_id").asText());
            assertEquals("up:v1:{r2}:p", d.get("key").asText());
            assertTrue(d.get("error").asText().startsWith("WRONGTYPE"), dl.get(0));
            assertEquals(1, metrics.storeErrors("read").get() - read0);
            assertEquals(0, metrics.storeErrors("write").get() - write0);
            assertEquals(4, metrics.counted().get() - counted0); // r2's events are in state
            r.del(RedisLayout.profileKey(P, "r2")); // the key is fixed: r2 is written in full
            f.send(click("r2", "e5", T0 + 3_000, "i1"));
            f.fireFlushTimer();
            tick(f);
            f.fireFlushTimer();
            assertTrue(r.get(RedisLayout.profileKey(P, "r2")).startsWith("3;"),
                    r.get(RedisLayout.profileKey(P, "r2")));
            assertEquals("3", r.hget(RedisLayout.userKey(P, "r2"), "t:60000:" + (T0 + 1_000) / 60_000)
                    .split(";")[1]);
        }
    }

    /** Three users with events in several tiles; flushed; returns what Redis holds of them. */
    private static Map<String, Map<String, String>> writeUsers(FeatureHarness f, Jedis r)
            throws Exception {
        for (int i = 0; i < 6; i++) {
            for (String u : new String[] {"u1", "u2", "u3"}) {
                f.send(click(u, u + "-" + i, T0 + i * 7_000L, "i" + i));
            }
        }
        f.fireFlushTimer();
        tick(f);
        Map<String, Map<String, String>> out = new TreeMap<>();
        for (String u : new String[] {"u1", "u2", "u3"}) {
            out.put(u, stored(r, u));
        }
        return out;
    }

    @Test
    void aFlushedStoreIsRewrittenInFullUnderANewGeneration() throws Exception {
        try (JobMetrics metrics = metrics(); Jedis r = REDIS.admin();
                FeatureHarness f = FeatureHarness.operator(spec(true), null)) {
            double losses0 = metrics.storeLosses().get();
            double rewrites0 = metrics.storeRewrites().get();
            Map<String, Map<String, String>> before = writeUsers(f, r);
            assertEquals("1", r.get(RedisLayout.generationKey(P)));
            assertEquals("1", r.hget(RedisLayout.userKey(P, "u1"), RedisLayout.META_GENERATION));
            r.flushAll(); // restarted empty, FLUSHDB, failover to an empty replica
            f.send(click("u1", "late-ish", T0 + 40_000, "i9")); // touches one tile only
            f.fireFlushTimer();
            assertFalse(r.exists(RedisLayout.userKey(P, "u1"))); // never a partial hash
            tick(f); // the watch finds the loss; the pass rewrites every user
            f.fireFlushTimer();
            assertEquals("2", r.get(RedisLayout.generationKey(P)));
            for (String u : new String[] {"u2", "u3"}) {
                assertEquals(before.get(u), stored(r, u), u);
                assertEquals("2", r.hget(RedisLayout.userKey(P, u), RedisLayout.META_GENERATION));
            }
            Map<String, String> u1 = stored(r, "u1");
            assertTrue(u1.keySet().containsAll(before.get("u1").keySet()), u1.toString());
            assertTrue(u1.get("(profile)").startsWith("7;"), u1.toString());
            assertEquals(1, metrics.storeLosses().get() - losses0);
            assertTrue(metrics.storeRewrites().get() - rewrites0 >= 3);
            assertEquals(0, metrics.storeRewritePending().get());
        }
    }

    @Test
    void oneUsersEvictedKeysAreRewrittenAtItsNextEvent() throws Exception {
        try (Jedis r = REDIS.admin();
                FeatureHarness f = FeatureHarness.operator(spec(true), null)) {
            Map<String, Map<String, String>> before = writeUsers(f, r);
            r.del(RedisLayout.userKey(P, "u2")); // evicted (allkeys-lru, ...)
            f.send(click("u2", "u2-again", T0 + 35_000, "i5")); // same tiles as the last event
            f.fireFlushTimer();
            tick(f);
            f.fireFlushTimer();
            Map<String, String> now = stored(r, "u2");
            assertEquals(before.get("u2").keySet(), now.keySet());
            assertNotEquals(before.get("u2").get("(profile)"), now.get("(profile)"));
            assertEquals("1", r.get(RedisLayout.generationKey(P))); // not a store-wide loss
            assertEquals(before.get("u1"), stored(r, "u1"));
        }
    }

    @Test
    void controlWithoutTheRewriteTheFlushedStoreStaysPartial() throws Exception {
        try (Jedis r = REDIS.admin();
                FeatureHarness f = FeatureHarness.operator(spec(false), null)) {
            Map<String, Map<String, String>> before = writeUsers(f, r);
            r.flushAll();
            f.send(click("u1", "late-ish", T0 + 40_000, "i9"));
            f.fireFlushTimer();
            tick(f);
            f.fireFlushTimer();
            assertFalse(r.exists(RedisLayout.userKey(P, "u2"))); // never rewritten
            Map<String, String> u1 = stored(r, "u1");
            assertTrue(u1.size() < before.get("u1").size(), u1.toString()); // a partial hash
            assertNull(r.get(RedisLayout.generationKey(P)));
        }
    }
}
