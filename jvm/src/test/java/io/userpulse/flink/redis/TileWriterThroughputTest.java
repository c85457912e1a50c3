package io.userpulse.flink.redis;

import static io.userpulse.flink.redis.Fixtures.T0;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.userpulse.flink.redis.Fixtures.Profile;
import io.userpulse.flink.redis.Fixtures.Recorder;
import io.userpulse.flink.redis.Fixtures.Tile;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;

/**
 * Users written per second by flushes of 500 users with 4 tiles each (plus last seen) against the
 * local redis-server; printed, not asserted (the machine is shared). Every round raises the
 * tiles' versions, so each call really rewrites its 4 fields.
 *
 * <p>Run alone: {@code mvn -B -q -f jvm/pom.xml test -Dtest=TileWriterThroughputTest}.
 */
class TileWriterThroughputTest {

  @RegisterExtension
  static final RedisServerExtension REDIS = new RedisServerExtension();
  private static final int USERS = 500;
  private static final int TILES = 4;
  private static final int WARMUP = 20;
  private static final int ROUNDS = 40;

  @Test
  void usersPerSecondOfA500UserFlush() {
    String[] users = new String[USERS];
    for (int u = 0; u < USERS; u++) {
      users[u] = "user-" + u;
    }
    long[] nanos = new long[ROUNDS];
    try (TileWriter<Tile, Profile> w =
        Fixtures.writer(REDIS.config().build(), 91_800, 34_560_000, new Recorder())) {
      for (int round = 0; round < WARMUP + ROUNDS; round++) {
        long n = round + 1;
        long t0 = System.nanoTime();
        for (String u : users) {
          for (int k = 0; k < TILES; k++) {
            w.stageTile(u, 60_000, T0 / 60_000 + k,
                new Tile(n, "1;1;1;1500;1500;0.4;AAAAAf////8=;1717243204000"));
          }
          w.stageLastSeen(u, T0 + n);
        }
        assertEquals(USERS, w.flush().size());
        if (round >= WARMUP) {
          nanos[round - WARMUP] = System.nanoTime() - t0;
        }
      }
    }
    double serverUsPerCall;
    try (Jedis r = REDIS.admin()) {
      serverUsPerCall = Double.parseDouble(
          TileWriterTest.commandStats(r, "evalsha").get("usec_per_call"));
      assertEquals(WARMUP + ROUNDS + ";1;1;1;1500;1500;0.4;AAAAAf////8=;1717243204000",
          r.hget(Fixtures.key("user-499"), "t:60000:" + (T0 / 60_000 + 3)));
    }
    Arrays.sort(nanos);
    double medianMs = nanos[ROUNDS / 2] / 1e6;
    double bestMs = nanos[0] / 1e6;
    System.out.printf("TileWriter throughput: %d users x %d tiles per flush, staging + flush: "
        + "median %.2f ms = %.0f users/s, best %.2f ms = %.0f users/s (%d rounds); "
        + "Redis-side script time %.1f us per user%n",
        USERS, TILES, medianMs, USERS / (medianMs / 1e3), bestMs, USERS / (bestMs / 1e3),
        ROUNDS, serverUsPerCall);
  }
}
