package io.userpulse.flink.operator;

import static io.userpulse.flink.operator.Expected.I1;
import static io.userpulse.flink.operator.Expected.T0;
import static io.userpulse.flink.operator.FeatureHarness.click;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.userpulse.flink.redis.RedisLayout;
import io.userpulse.flink.redis.RedisServerExtension;
import io.userpulse.flink.spec.JobSpec;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;

/**
 * The pre-merged window fields ({@code m}, {@code w:<window_ms>}; docs/key-layout.md) through
 * {@link FeatureFunction} and a real redis-server: written with the tiles as of the processing
 * time, and written again by the refresh timer when the earliest window value stops holding. The
 * merge itself is pinned against Python by the golden vectors (TileStateVectorsTest).
 */
class PremergeHarnessTest {

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final String CLICK_I1 = "1;1;0;0;0;;;" + I1 + ";";
    private static final String TWO_CLICKS_I1 = "2;2;0;0;0;;;" + I1 + ";";

    @Test
    void writtenWithTheTilesAndRefreshedWhenAWindowStopsHolding() throws Exception {
        JobSpec spec = FeatureHarness.spec(REDIS.port(),
                d -> ((ObjectNode) d.get("job")).put("premerge_refresh_ms", 1_000));
        try (FeatureHarness f = FeatureHarness.open(spec)) {
            long t = T0 + 30_500; // the job's clock (processing time) at the events
            f.h.setProcessingTime(t);
            f.send(click("u", "a", T0, "i1"), click("u", "b", T0 + 20_000, "i1"));
            f.fireFlushTimer();
            Map<String, String> h = hash("u");
            assertEquals("2;" + t, h.get("m"));
            // each window holds until its oldest tile (T0's) leaves it
            String both = TWO_CLICKS_I1 + (T0 + 20_000);
            assertEquals((T0 + 60_000) + ";" + both, h.get("w:60000"));
            assertEquals((T0 + 300_000) + ";" + both, h.get("w:300000"));
            assertEquals((T0 + 3_600_000) + ";" + both, h.get("w:3600000"));
            assertEquals((T0 + 86_400_000) + ";" + both, h.get("w:86400000"));

            f.h.setProcessingTime(T0 + 60_000); // the refresh timer (a multiple of 1 s)
            assertEquals("2;" + t, hash("u").get("m"), "staged, written at the next flush");
            f.fireFlushTimer();
            h = hash("u");
            assertEquals("2;" + (T0 + 60_000), h.get("m"));
            assertEquals((T0 + 80_000) + ";" + CLICK_I1 + (T0 + 20_000), h.get("w:60000"));
            assertEquals((T0 + 300_000) + ";" + both, h.get("w:300000"));

            f.h.setProcessingTime(T0 + 80_000); // the 1 min window empties: no bound any more
            f.fireFlushTimer();
            h = hash("u");
            assertEquals("2;" + (T0 + 80_000), h.get("m"));
            assertEquals(";0;0;0;0;0;;;;", h.get("w:60000"));
        }
    }

    @Test
    void offWhenTheRefreshResolutionIsZero() throws Exception {
        try (FeatureHarness f = FeatureHarness.open(FeatureHarness.spec(REDIS.port()))) {
            f.h.setProcessingTime(T0);
            f.send(click("v", "a", T0, "i1"));
            f.fireFlushTimer();
            Map<String, String> h = hash("v");
            assertEquals(CLICK_I1 + T0, h.get("t:1000:" + T0 / 1000));
            assertNull(h.get("m"));
            assertNull(h.get("w:60000"));
        }
    }

    private static Map<String, String> hash(String user) {
        try (Jedis j = REDIS.admin()) {
            return new TreeMap<>(j.hgetAll(RedisLayout.userKey(RedisLayout.PREFIX, user)));
        }
    }
}
