package io.userpulse.flink.redis;

import static io.userpulse.flink.redis.Fixtures.T0;
import static io.userpulse.flink.redis.Fixtures.key;
import static io.userpulse.flink.redis.Fixtures.pkey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.redis.Fixtures.Profile;
import io.userpulse.flink.redis.Fixtures.Tile;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * The writer's side of store data loss (case H22) on a real redis-server: a partial write of a
 * user the store lost is refused by the script (nothing written, the user reported missing), the
 * store generation field, the {@link StoreWatch} over FLUSHALL, an older marker, another task's
 * raise and a restart (new run_id), and the classification of errors for the retry metric.
 */
class StoreLossTest {

  @RegisterExtension
  static final RedisServerExtension REDIS = new RedisServerExtension();

  private final Fixtures.Recorder rec = new Fixtures.Recorder();

  private TileWriter<Tile, Profile> writer() {
    return Fixtures.writer(REDIS.config().build(), 1_000, 2_000, rec);
  }

  private static void stage(TileWriter<Tile, Profile> w, String user, long n) {
    w.stageTile(user, 1000, 1, new Tile(n, user));
    w.stageProfile(user, new Profile(n, "{}"));
    w.stageLastSeen(user, T0 + n);
  }

  @Test
  void aPartialWriteOfAUserTheStoreLostWritesNothingAndReportsTheUser() {
    try (TileWriter<Tile, Profile> w = writer(); Jedis r = REDIS.admin()) {
      stage(w, "kept", 1);
      stage(w, "lost", 1);
      w.flush();
      r.del(key("lost")); // one user's hash evicted
      stage(w, "kept", 2);
      stage(w, "lost", 2);
      w.expectStored("kept");
      w.expectStored("lost");
      FlushResult res = w.flushAndReport();
      assertEquals(List.of("lost"), res.missing());
      assertEquals(Map.of("kept", T0 + 2), res.written());
      assertTrue(res.ok());
      assertEquals("2;kept", r.hget(key("kept"), "t:1000:1"));
      assertFalse(r.exists(key("lost"))); // no partial hash: a lookup says not_found
      assertEquals("1;{}", r.get(pkey("lost"))); // the profile was not touched either
      r.del(pkey("kept")); // the profile key alone lost counts as lost too
      stage(w, "kept", 3);
      w.expectStored("kept");
      assertEquals(List.of("kept"), w.flushAndReport().missing());
    }
  }

  @Test
  void aFullWriteAfterALossIsWrittenAndCarriesTheGeneration() {
    try (TileWriter<Tile, Profile> w = writer(); Jedis r = REDIS.admin()) {
      w.setGeneration(3);
      stage(w, "u", 1);
      w.stagedFull("u");
      w.expectStored("u"); // no effect after stagedFull in the same cycle
      assertEquals(List.of(), w.flushAndReport().missing());
      assertEquals("3", r.hget(key("u"), "g"));
      w.setGeneration(2); // a task that has not caught up never lowers it
      stage(w, "u", 2);
      w.flush();
      assertEquals("3", r.hget(key("u"), "g"));
      assertEquals("2;u", r.hget(key("u"), "t:1000:1"));
      w.setGeneration(0); // none: the field is left as it is
      stage(w, "v", 1);
      w.flush();
      assertNull(r.hget(key("v"), "g"));
    }
  }

  @Test
  void theWatchFindsEveryKindOfLoss() throws Exception {
    String marker = RedisLayout.generationKey(RedisLayout.PREFIX);
    try (StoreWatch w = new StoreWatch(REDIS.config().build(), RedisLayout.PREFIX, 0);
        Jedis r = REDIS.admin()) {
      assertEquals(new StoreWatch.Check(1, false, null), w.check()); // a fresh store
      assertEquals("1", r.get(marker));
      String run = RedisLayout.runKey(RedisLayout.PREFIX);
      String firstRun = runId(r);
      assertEquals(firstRun, r.get(run)); // the server the marker was confirmed on
      assertFalse(w.check().lost());
      r.flushAll(); // FLUSHALL / FLUSHDB / a failover to an empty replica
      StoreWatch.Check c = w.check();
      assertTrue(c.lost());
      assertEquals(2, c.generation());
      assertEquals("generation marker missing", c.why());
      r.set(marker, "1"); // restored from an older snapshot
      c = w.check();
      assertEquals(3, c.generation());
      assertTrue(c.lost());
      r.set(marker, "10"); // another task found a loss
      c = w.check();
      assertEquals(new StoreWatch.Check(10, true, "another task raised the generation"), c);
      try (StoreWatch second = new StoreWatch(REDIS.config().build(), RedisLayout.PREFIX, 10)) {
        assertEquals(new StoreWatch.Check(10, false, null), second.check()); // restored, intact
      }
      REDIS.server().stop(); // a restart keeps nothing here (no persistence): new run_id
      assertNull(w.check()); // down: unknown, asked again later
      REDIS.server().start();
      r.close();
      try (Jedis again = REDIS.admin()) {
        again.set(marker, "10"); // as if the restart had loaded a snapshot with the marker
        again.set(run, firstRun); // ... and the old server's run id
        c = w.check();
        assertTrue(c.lost());
        assertEquals("Redis restarted (new run_id)", c.why());
        assertEquals(11, c.generation());
        assertEquals("11", again.get(marker));
        assertNotEquals(firstRun, again.get(run));
        assertEquals(runId(again), again.get(run)); // lookups go by the users' generations now
      }
    }
  }

  private static String runId(Jedis r) {
    String id = StoreProbe.runId(r.info("server"));
    assertNotEquals(null, id, "no run_id in INFO server");
    return id;
  }

  @Test
  void theRunIdOfAnInfoReplyAndTheRecordOfSeveralServers() {
    assertEquals("9f3a", StoreProbe.runId("# Server\r\nredis_version:7.2.4\r\nrun_id:9f3a\r\n"
        + "tcp_port:6379\r\n"));
    assertNull(StoreProbe.runId("# Server\r\nredis_version:7.2.4\r\n"));
    // a cluster: every primary's run_id, sorted, once each (one server: its run_id alone)
    assertEquals("a1,b2", RedisLayout.runRecord(List.of("b2", "a1", "b2")));
    assertEquals("a1", RedisLayout.runRecord(List.of("a1")));
  }

  @Test
  void aStoreThatLostTheMarkerWhileTheJobWasDownIsALossAtStart() {
    try (StoreWatch w = new StoreWatch(REDIS.config().build(), RedisLayout.PREFIX, 4)) {
      StoreWatch.Check c = w.check();
      assertEquals(5, c.generation());
      assertTrue(c.lost());
    }
  }

  @Test
  void retryStatesNameTheTransientStateOrTheConnection() {
    assertEquals("OOM", RedisErrors.state(new JedisDataException(
        "OOM command not allowed when used memory > 'maxmemory'. script: 6e32, on @user_script:9.")));
    for (String s : new String[] {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN"}) {
      assertEquals(s, RedisErrors.state(new JedisDataException(s + " something")));
      assertTrue(RedisErrors.isRetryable(new JedisDataException(s + " something")));
    }
    assertEquals("connection", RedisErrors.state(new JedisConnectionException("reset")));
    JedisDataException wrongType = new JedisDataException(
        "WRONGTYPE Operation against a key holding the wrong kind of value");
    assertEquals("other", RedisErrors.state(wrongType));
    assertFalse(RedisErrors.isRetryable(wrongType));
  }

  @Test
  void aRefusedProfileReadNamesTheUserAndTheKey() {
    try (TileWriter<Tile, Profile> w = writer(); Jedis r = REDIS.admin()) {
      r.hset(pkey("r2"), "x", "a hash where a string belongs");
      RedisKeyException e = assertThrows(RedisKeyException.class, () -> w.readProfile("r2"));
      assertEquals("r2", e.user());
      assertEquals(pkey("r2"), e.key());
      assertTrue(e.error().startsWith("WRONGTYPE"), e.error());
      r.set(pkey("r3"), "not a v1 value");
      assertEquals(pkey("r3"), assertThrows(RedisKeyException.class,
          () -> w.readProfile("r3")).key());
    }
  }
}
