package io.userpulse.flink.redis;

import static io.userpulse.flink.redis.Fixtures.T0;
import static io.userpulse.flink.redis.Fixtures.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.redis.Fixtures.Profile;
import io.userpulse.flink.redis.Fixtures.Recorder;
import io.userpulse.flink.redis.Fixtures.Tile;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;

/** The writer when Redis goes away: killed and restarted, a lost reply, an interrupted wait. */
class TileWriterFaultTest {

  @RegisterExtension
  static final RedisServerExtension REDIS = new RedisServerExtension();

  private final Recorder rec = new Recorder();

  @Test
  void redisKilledAndRestartedDuringAFlushRetriesThenLands() throws Exception {
    try (TileWriter<Tile, Profile> w =
        Fixtures.writer(REDIS.config().build(), 1_000, 2_000, rec)) {
      w.stageTile("u0", 1000, 1, new Tile(1, "before"));
      w.flush(); // connected, script loaded
      REDIS.server().kill(); // crash: no persistence, the restarted server is empty
      rec.onRetry = e -> {
        if (rec.retries.size() == 3) {
          REDIS.server().start(); // back on the same port after three failed attempts
        }
      };
      for (int i = 0; i < 50; i++) {
        w.stageTile("u" + i, 1000, 1, new Tile(2, "after" + i));
        w.stageLastSeen("u" + i, T0 + i);
      }
      assertEquals(50, w.flush().size());
      assertEquals(3, rec.retries.size());
      for (Exception e : rec.retries) {
        assertInstanceOf(JedisConnectionException.class, e);
      }
      assertEquals(List.of(50L, 100L, 200L), rec.sleeps);
      try (Jedis r = REDIS.admin()) {
        assertEquals(50, r.dbSize()); // the 50 tile hashes (no profile staged)
        assertEquals("2;after7", r.hget(key("u7"), "t:1000:1"));
        assertEquals(Long.toString(T0 + 49), r.hget(key("u49"), "ls"));
        // the new connection loaded the script in the same pipeline: no NOSCRIPT round
        assertEquals("50", TileWriterTest.commandStats(r, "evalsha").get("calls"));
      }
    }
  }

  @Test
  void h14RetryAfterALostReplyDoesNotDoubleCount() throws Exception {
    try (CutReplyProxy proxy = new CutReplyProxy(REDIS.port());
        TileWriter<Tile, Profile> w =
            Fixtures.writer(REDIS.config().port(proxy.port()).build(), 1_000, 2_000, rec);
        Jedis r = REDIS.admin()) {
      w.stageTile("uA", 1000, 1, new Tile(1, "one click"));
      w.stageLastSeen("uA", T0 + 1_000);
      assertEquals(java.util.Map.of("uA", T0 + 1_000), w.flush());
      assertTrue(proxy.cut.get());
      assertEquals(1, rec.retries.size());
      assertInstanceOf(JedisConnectionException.class, rec.retries.get(0));
      // applied twice (the lost one and the resent one), stored once: writes are absolute
      assertEquals("2", TileWriterTest.commandStats(r, "evalsha").get("calls"));
      assertEquals("1;one click", r.hget(key("uA"), "t:1000:1"));
    }
  }

  @Test
  void interruptedBackoffStopsTheFlushAndKeepsTheUsersStaged() throws Exception {
    RedisConfig nowhere = REDIS.config().port(LocalRedis.freePort()).timeoutMs(500).build();
    rec.maxSleeps = 0; // the first backoff sleep is interrupted (a cancelled task)
    try (TileWriter<Tile, Profile> w = Fixtures.writer(nowhere, 1_000, 2_000, rec)) {
      w.stageTile("uA", 1000, 1, new Tile(1, "x"));
      w.stageTile("uB", 1000, 1, new Tile(1, "y"));
      RedisStoreException e = assertThrows(RedisStoreException.class, w::flush);
      assertFalse(e instanceof RedisWriteException);
      assertInstanceOf(InterruptedException.class, e.getCause());
      assertTrue(Thread.interrupted()); // the interrupt is kept for the caller (cleared here)
      assertEquals(2, w.pendingUsers());
      assertTrue(w.isPending("uA") && w.isPending("uB"));
      assertInstanceOf(JedisConnectionException.class, rec.retries.get(0));
      RedisStoreException r = assertThrows(RedisStoreException.class, () -> w.readProfile("uA"));
      assertInstanceOf(InterruptedException.class, r.getCause());
      assertTrue(Thread.interrupted());
    }
  }
}
