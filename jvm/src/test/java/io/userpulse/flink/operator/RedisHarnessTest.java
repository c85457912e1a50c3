package io.userpulse.flink.operator;

import io.userpulse.flink.metrics.JobMetrics;
import io.userpulse.flink.redis.RedisLayout;
import io.userpulse.flink.redis.RedisServerExtension;
import io.userpulse.flink.spec.JobSpec;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;

/**
 * What the {@link FeatureFunction} harness tests share: a real redis-server per test class
 * (flushed before each test), the operators' metrics, the default spec pointed at that server,
 * and reads of what the function wrote (layout v1).
 */
abstract class RedisHarnessTest {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    /** The operators' metrics (shared per class loader): counters read as deltas. */
    static JobMetrics metrics;

    @BeforeAll
    static void acquireMetrics() throws Exception {
        metrics = JobMetrics.acquire(0, "127.0.0.1");
    }

    @AfterAll
    static void releaseMetrics() {
        metrics.release();
    }

    /** spec/default.json with this class's redis-server. */
    static JobSpec spec() {
        return FeatureHarness.spec(REDIS.port());
    }

    /** The user's tile hash, fields sorted (empty when the key is absent). */
    static Map<String, String> hash(String user) {
        try (Jedis j = REDIS.admin()) {
            return new TreeMap<>(j.hgetAll(RedisLayout.userKey(RedisLayout.PREFIX, user)));
        }
    }

    /** The user's stored profile value ({@code <version>;<json>}), or null. */
    static String profile(String user) {
        try (Jedis j = REDIS.admin()) {
            return j.get(RedisLayout.profileKey(RedisLayout.PREFIX, user));
        }
    }
}
