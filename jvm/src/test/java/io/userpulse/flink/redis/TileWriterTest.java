package io.userpulse.flink.redis;

import static io.userpulse.flink.redis.Fixtures.T0;
import static io.userpulse.flink.redis.Fixtures.key;
import static io.userpulse.flink.redis.Fixtures.pkey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.redis.Fixtures.Profile;
import io.userpulse.flink.redis.Fixtures.Recorder;
import io.userpulse.flink.redis.Fixtures.Tile;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;

/**
 * The writer against a real Redis: the behaviours of {@code tests/integration/
 * test_redis_writer.py} (cases H15, H16) and of the Python writer's staging API.
 */
class TileWriterTest {

  @RegisterExtension
  static final RedisServerExtension REDIS = new RedisServerExtension();

  private final Recorder rec = new Recorder();

  private TileWriter<Tile, Profile> writer(long ttlS, long profileTtlS) {
    return Fixtures.writer(REDIS.config().build(), ttlS, profileTtlS, rec);
  }

  @Test
  void h16OlderWriteNeverOverwritesNewerAndSameVersionChangesNothing() {
    try (TileWriter<Tile, Profile> w = writer(1_000, 2_000); Jedis r = REDIS.admin()) {
      for (int k = 1; k <= 3; k++) { // the state after 3 clicks: tiles k=1..3, n=1 each
        w.stageTile("uA", 1000, T0 / 1000 + k, new Tile(1, "1;0;0"));
      }
      w.stageTile("uA", 60_000, T0 / 60_000, new Tile(3, "3;0;0"));
      w.stageLastSeen("uA", T0 + 3_000);
      assertEquals(Map.of("uA", T0 + 3_000), w.flush());
      Map<String, String> after3 = r.hgetAll(key("uA"));
      assertEquals("3;3;0;0", after3.get("t:60000:" + T0 / 60_000));
      assertEquals("1;1;0;0", after3.get("t:1000:" + (T0 / 1000 + 1)));
      assertEquals(Long.toString(T0 + 3_000), after3.get("ls"));
      // a delayed write of the state after 2 events, and the same version with another value
      w.stageTile("uA", 60_000, T0 / 60_000, new Tile(2, "2;0;0"));
      w.stageLastSeen("uA", T0 + 2_000);
      w.flush();
      w.stageTile("uA", 60_000, T0 / 60_000, new Tile(3, "9;9;9"));
      w.flush();
      assertEquals(after3, r.hgetAll(key("uA")));
      // a larger version does replace it
      w.stageTile("uA", 60_000, T0 / 60_000, new Tile(4, "4;0;0"));
      w.flush();
      assertEquals("4;4;0;0", r.hget(key("uA"), "t:60000:" + T0 / 60_000));
      assertEquals(0, w.retries());
    }
  }

  @Test
  void premergedFieldsAreReplacedOnlyByMoreEventsOrALaterAsOf() {
    try (TileWriter<Tile, Profile> w = writer(1_000, 2_000); Jedis r = REDIS.admin()) {
      long[] ws = {60_000, 300_000};
      w.stagePremerged("uA", 5, T0, ws, new long[] {T0 + 7_000, Long.MIN_VALUE},
          new Tile[] {new Tile(5, "a"), new Tile(5, "b")});
      w.flush();
      Map<String, String> first = r.hgetAll(key("uA"));
      assertEquals("5;" + T0, first.get("m"));
      assertEquals((T0 + 7_000) + ";5;a", first.get("w:60000"));
      assertEquals(";5;b", first.get("w:300000"));
      // fewer events (a replay after a restore), or as many and an earlier T: kept
      long[] later = {T0 + 9_000, T0 + 9_000};
      w.stagePremerged("uA", 4, T0 + 9_000, ws, later, new Tile[] {new Tile(4, "x"), new Tile(4, "y")});
      w.flush();
      w.stagePremerged("uA", 5, T0 - 1, ws, later, new Tile[] {new Tile(5, "x"), new Tile(5, "y")});
      w.flush();
      assertEquals(first, r.hgetAll(key("uA")));
      // as many events and a later T (the refresh timer), then more events: replaced
      w.stagePremerged("uA", 5, T0 + 8_000, ws, later, new Tile[] {new Tile(5, "c"), new Tile(5, "d")});
      w.flush();
      assertEquals("5;" + (T0 + 8_000), r.hget(key("uA"), "m"));
      assertEquals((T0 + 9_000) + ";5;c", r.hget(key("uA"), "w:60000"));
      w.stagePremerged("uA", 6, T0 + 1, ws, later, new Tile[] {new Tile(6, "e"), new Tile(6, "f")});
      w.flush();
      assertEquals("6;" + (T0 + 1), r.hget(key("uA"), "m"));
      assertEquals((T0 + 9_000) + ";6;f", r.hget(key("uA"), "w:300000"));
    }
  }

  @Test
  void newestStagedTileWinsAndLastSeenIsMax() {
    try (TileWriter<Tile, Profile> w = writer(1_000, 2_000); Jedis r = REDIS.admin()) {
      w.stageTile("uA", 1000, 7, new Tile(1, "a"));
      w.stageTile("uA", 1000, 7, new Tile(2, "b")); // coalesced: one value, one call
      w.stageLastSeen("uA", T0 + 5);
      w.stageLastSeen("uA", T0 + 1);
      assertTrue(w.isPending("uA"));
      assertEquals(1, w.pendingUsers());
      assertEquals(Map.of("uA", T0 + 5), w.flush());
      assertFalse(w.isPending("uA"));
      assertEquals(0, w.pendingUsers());
      assertEquals(Map.of("t:1000:7", "2;b", "ls", Long.toString(T0 + 5)),
          r.hgetAll(key("uA")));
      assertEquals(1, evalshaCalls(r));
      w.stageLastSeen("uA", T0 + 2); // older than stored: kept
      w.flush();
      assertEquals(Long.toString(T0 + 5), r.hget(key("uA"), "ls"));
      w.stageLastSeen("uA", T0 + 9);
      w.flush();
      assertEquals(Long.toString(T0 + 9), r.hget(key("uA"), "ls"));
      // no last seen staged: null in the result, ls untouched
      w.stageTile("uA", 1000, 8, new Tile(1, "c"));
      Map<String, Long> out = w.flush();
      assertTrue(out.containsKey("uA") && out.get("uA") == null);
      assertEquals(Map.of(), w.flush()); // nothing staged: no I/O, empty result
      assertEquals(List.of(1, 1, 1, 1), rec.flushedUsers);
    }
  }

  @Test
  void h15TtlsOfBothKeysSetAndRefreshedOnEveryWrite() {
    try (TileWriter<Tile, Profile> w = writer(100, 1_000); Jedis r = REDIS.admin()) {
      w.stageTile("uA", 1000, 1, new Tile(1, "x"));
      w.stageProfile("uA", new Profile(1, "{}"));
      w.flush();
      assertTrue(r.ttl(key("uA")) > 95 && r.ttl(key("uA")) <= 100);
      assertTrue(r.ttl(pkey("uA")) > 995 && r.ttl(pkey("uA")) <= 1_000);
      r.expire(key("uA"), 5); // as if time had passed
      r.expire(pkey("uA"), 5);
      w.stageTile("uA", 1000, 1, new Tile(1, "x")); // same versions: values unchanged
      w.stageProfile("uA", new Profile(1, "{}"));
      w.flush();
      assertTrue(r.ttl(key("uA")) > 95, "tile hash TTL refreshed");
      assertTrue(r.ttl(pkey("uA")) > 995, "profile TTL refreshed");
      r.expire(key("uA"), 5);
      w.stageLastSeen("uA", T0); // any write refreshes the hash's TTL
      w.flush();
      assertTrue(r.ttl(key("uA")) > 95);
    }
  }

  @Test
  void pruneDeletesFieldsAndRaisesMarks() {
    try (TileWriter<Tile, Profile> w = writer(1_000, 2_000); Jedis r = REDIS.admin()) {
      for (int k = 1; k <= 4; k++) {
        w.stageTile("uA", 1000, k, new Tile(1, "v" + k));
      }
      w.flush();
      w.stagePrune("uA", 1000, List.of(2L, 1L));
      w.stageTile("uA", 1000, 5, new Tile(1, "v5"));
      w.stagePrune("uA", 1000, List.of(5L)); // a staged tile that leaves retention: not written
      w.stagePrunedMark("uA", 60_000, 7);
      w.stagePrunedMark("uA", 60_000, 3); // marks only rise
      w.stagePrune("uA", 5_000, List.of()); // nothing
      w.flush();
      assertEquals(Map.of("t:1000:3", "1;v3", "t:1000:4", "1;v4", "p:1000", "5", "p:60000", "7"),
          r.hgetAll(key("uA")));
      w.stagePrune("uA", 1000, List.of(3L)); // a lower mark never lowers the stored one
      w.flush();
      assertEquals(Map.of("t:1000:4", "1;v4", "p:1000", "5", "p:60000", "7"),
          r.hgetAll(key("uA")));
      w.stagePrune("uA", 1000, List.of(4L));
      w.stageTile("uA", 1000, 4, new Tile(2, "again")); // staged after the prune: HDEL then HSET
      w.flush();
      assertEquals("2;again", r.hget(key("uA"), "t:1000:4"));
    }
  }

  @Test
  void profileVersionRuleAndReadBack() {
    try (TileWriter<Tile, Profile> w = writer(1_000, 2_000); Jedis r = REDIS.admin()) {
      assertEquals(new StoredProfile(null, false), w.readProfile("uA"));
      w.stageProfile("uA", new Profile(4, "{\"v\":3}"));
      w.stageProfile("uA", new Profile(5, "{\"v\":5,\"ø\":1}")); // newest staged wins
      w.flush();
      assertEquals("5;{\"v\":5,\"ø\":1}", r.get(pkey("uA")));
      // only a profile was written: the tile hash does not exist (HSET of nothing, EXPIRE no-op)
      assertEquals(new StoredProfile("{\"v\":5,\"ø\":1}", false), w.readProfile("uA"));
      w.stageLastSeen("uA", T0);
      w.flush();
      assertEquals(new StoredProfile("{\"v\":5,\"ø\":1}", true), w.readProfile("uA"));
      w.stageProfile("uA", new Profile(4, "{\"v\":4}")); // older: kept
      w.flush();
      w.stageProfile("uA", new Profile(5, "{\"v\":55}")); // same version: kept
      w.flush();
      assertEquals("5;{\"v\":5,\"ø\":1}", r.get(pkey("uA")));
      w.stageProfile("uA", new Profile(12, "{\"v\":12}")); // numerically larger (not as text)
      w.flush();
      assertEquals("12;{\"v\":12}", r.get(pkey("uA")));
      r.del(key("uA"));
      assertEquals(new StoredProfile("{\"v\":12}", false), w.readProfile("uA"));
      r.set(pkey("uB"), "garbage");
      assertThrows(RedisStoreException.class, () -> w.readProfile("uB"));
    }
  }

  @Test
  void noscriptAfterScriptFlushReloadsAndResendsAtOnce() {
    try (TileWriter<Tile, Profile> w = writer(1_000, 2_000); Jedis r = REDIS.admin()) {
      w.stageTile("uA", 1000, 1, new Tile(1, "x"));
      w.flush();
      r.scriptFlush();
      r.configResetStat();
      w.stageTile("uA", 1000, 1, new Tile(2, "y"));
      w.stageTile("uB", 1000, 1, new Tile(1, "z"));
      assertEquals(Set.of("uA", "uB"), w.flush().keySet());
      assertEquals(List.of(), rec.retries); // no backoff
      Map<String, String> s = commandStats(r, "evalsha");
      assertEquals("4", s.get("calls")); // 2 refused with NOSCRIPT, 2 applied
      assertEquals("2", s.get("failed_calls"));
      assertEquals("1", commandStats(r, "script|load").get("calls"));
      assertEquals("2;y", r.hget(key("uA"), "t:1000:1"));
      assertEquals("1;z", r.hget(key("uB"), "t:1000:1"));
    }
  }

  @Test
  void wrongTypeIsReportedForThatUserAndTheOthersAreWritten() {
    try (TileWriter<Tile, Profile> w = writer(1_000, 2_000); Jedis r = REDIS.admin()) {
      r.set(key("bad"), "not a hash");
      for (String u : List.of("good1", "bad", "good2")) {
        w.stageTile(u, 1000, 1, new Tile(1, u));
        w.stageLastSeen(u, T0);
      }
      RedisWriteException e = assertThrows(RedisWriteException.class, w::flush);
      assertEquals(1, e.failures().size());
      WriteFailure f = e.failures().get(0);
      assertEquals("bad", f.user());
      assertEquals("up:v1:{bad}", f.key());
      assertEquals("up:v1:{bad}:p", f.profileKey());
      assertTrue(f.error().startsWith("WRONGTYPE"), f.error());
      assertTrue(e.getMessage().contains("user=bad, key=up:v1:{bad}, error=WRONGTYPE"));
      assertEquals(Map.of("good1", T0, "good2", T0), e.written());
      assertEquals("1;good1", r.hget(key("good1"), "t:1000:1"));
      assertEquals("1;good2", r.hget(key("good2"), "t:1000:1"));
      assertEquals(List.of(), rec.retries); // not retried
      assertEquals(0, w.pendingUsers()); // dropped (a dead-letter record, later)
      w.stageTile("bad", 1000, 1, new Tile(1, "again"));
      FlushResult again = w.flushAndReport(); // the reporting variant does not throw
      assertFalse(again.ok());
      assertEquals(Map.of(), again.written());
      assertEquals("bad", again.failures().get(0).user());
    }
  }

  @Test
  void transientOomUnderNoevictionIsRetriedUntilItClears() {
    try (TileWriter<Tile, Profile> w = writer(1_000, 2_000); Jedis r = REDIS.admin()) {
      w.stageTile("uA", 1000, 1, new Tile(1, "x"));
      w.flush();
      r.configSet("maxmemory-policy", "noeviction");
      r.configSet("maxmemory", "1");
      rec.onRetry = e -> {
        if (rec.retries.size() == 2) {
          try (Jedis a = REDIS.admin()) {
            a.configSet("maxmemory", "0");
          }
        }
      };
      w.stageTile("uA", 1000, 1, new Tile(2, "y"));
      w.stageProfile("uA", new Profile(1, "{}"));
      assertEquals(Set.of("uA"), w.flush().keySet());
      assertEquals(2, rec.retries.size());
      assertTrue(rec.retries.get(0).getMessage().startsWith("OOM"), rec.retries.toString());
      assertEquals(List.of(50L, 100L), rec.sleeps); // capped exponential backoff
      assertEquals("2;y", r.hget(key("uA"), "t:1000:1"));
      assertEquals("1;{}", r.get(pkey("uA")));
    }
  }

  @Test
  void selectsTheConfiguredDatabase() {
    RedisConfig db3 = REDIS.config().db(3).build();
    try (TileWriter<Tile, Profile> w = Fixtures.writer(db3, 1_000, 2_000, rec);
        Jedis r = REDIS.admin()) {
      w.stageTile("uA", 1000, 1, new Tile(1, "x"));
      w.flush();
      assertFalse(r.exists(key("uA")));
      r.select(3);
      assertEquals("1;x", r.hget(key("uA"), "t:1000:1"));
      assertEquals(new StoredProfile(null, true), w.readProfile("uA"));
    }
  }

  @Test
  void manyUsersInOneFlushEachWithTheirOwnValues() {
    try (TileWriter<Tile, Profile> w = writer(1_000, 2_000); Jedis r = REDIS.admin()) {
      Map<String, Long> expected = new HashMap<>();
      for (int i = 0; i < 300; i++) {
        String u = "user-" + i;
        w.stageTile(u, 1000, i, new Tile(i + 1, "v" + i));
        w.stageLastSeen(u, T0 + i);
        expected.put(u, T0 + i);
      }
      assertEquals(expected, w.flush());
      assertEquals(300, r.dbSize());
      assertEquals((299 + 1) + ";v299", r.hget(key("user-299"), "t:1000:299"));
      assertEquals(300, evalshaCalls(r));
      assertEquals(300, w.usersWritten());
    }
  }

  static long evalshaCalls(Jedis r) {
    return Long.parseLong(commandStats(r, "evalsha").getOrDefault("calls", "0"));
  }

  /** The fields of {@code command}'s line of INFO commandstats. */
  static Map<String, String> commandStats(Jedis r, String command) {
    Map<String, String> out = new HashMap<>();
    for (String line : r.info("commandstats").split("\r\n")) {
      if (line.startsWith("cmdstat_" + command + ":")) {
        for (String kv : line.substring(line.indexOf(':') + 1).split(",")) {
          String[] p = kv.split("=");
          out.put(p[0], p[1]);
        }
      }
    }
    return out;
  }

  @Test
  void aFailingTileEncoderKeepsEveryUserStaged() {
    RuntimeException boom = new IllegalStateException("cannot encode");
    try (TileWriter<Tile, Profile> w = new TileWriter<>(REDIS.config().build(), "up:v1", 1_000,
        2_000, (sb, t) -> {
          if (t.n() < 0) {
            throw boom;
          }
          sb.append(t.encode());
        }, Profile::version, TextAppender.of(Profile::json), rec.policy(), rec); Jedis r = REDIS.admin()) {
      w.stageTile("ok", 1000, 1, new Tile(1, "x"));
      w.stageTile("bad", 1000, 1, new Tile(-1, "x"));
      assertEquals(boom, assertThrows(IllegalStateException.class, w::flush));
      assertEquals(0, r.dbSize()); // nothing sent
      assertEquals(2, w.pendingUsers());
      w.stageTile("bad", 1000, 1, new Tile(2, "fixed"));
      assertEquals(Set.of("ok", "bad"), w.flush().keySet());
      assertEquals("2;fixed", r.hget(key("bad"), "t:1000:1"));
    }
  }

  @Test
  void emptyResultWhenNothingStagedAndNoNullUser() {
    try (TileWriter<Tile, Profile> w = writer(1_000, 2_000)) {
      assertEquals(FlushResult.EMPTY, w.flushAndReport());
      assertThrows(NullPointerException.class, () -> w.stageLastSeen(null, 1));
      assertNull(w.flush().get("x"));
    }
  }
}
