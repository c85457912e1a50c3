package io.userpulse.flink.redis;

import static io.userpulse.flink.redis.Fixtures.T0;
import static io.userpulse.flink.redis.Fixtures.key;
import static io.userpulse.flink.redis.Fixtures.pkey;
import static io.userpulse.flink.redis.TileWriterTest.commandStats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.redis.Fixtures.Profile;
import io.userpulse.flink.redis.Fixtures.Recorder;
import io.userpulse.flink.redis.Fixtures.Tile;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisMovedDataException;

/**
 * The writer against a real local Redis Cluster of 3 masters and one spare master without
 * slots (the behaviours of {@code tests/integration/test_redis_cluster_writer.py}), as the job's
 * ACL user.
 */
class ClusterTileWriterTest {

  @RegisterExtension
  static final RedisClusterExtension CLUSTER = new RedisClusterExtension(3, 1);
  private static final long[] TILE_SIZES_MS = {1_000, 60_000, 3_600_000};
  private static final long TTL_S = 1_000;
  private static final long PROFILE_TTL_S = 2_000;

  private final Recorder rec = new Recorder();

  private TileWriter<Tile, Profile> writer() {
    return Fixtures.writer(CLUSTER.config().build(), TTL_S, PROFILE_TTL_S, rec);
  }

  /** Stages {@code user}'s state after {@code n} events: tiles (version n), last seen, profile. */
  private static void stage(TileWriter<Tile, Profile> w, String user, int n) {
    for (long g : TILE_SIZES_MS) {
      w.stageTile(user, g, T0 / g, new Tile(n, user));
    }
    w.stageLastSeen(user, T0 + n - 1);
    w.stageProfile(user, new Profile(n, "{\"v\":" + n + "}"));
  }

  private static int slot(String user) {
    return RedisLayout.keySlot(key(user));
  }

  /** The version of {@code user}'s 1 s tile on node {@code i}, or null. */
  private static String tile(int i, String user, boolean asking) {
    try (Jedis j = CLUSTER.admin(i)) {
      if (asking) {
        j.sendCommand(Protocol.Command.ASKING);
      }
      return j.hget(key(user), "t:1000:" + T0 / 1000);
    }
  }

  private static String profile(int i, String user, boolean asking) {
    try (Jedis j = CLUSTER.admin(i)) {
      if (asking) {
        j.sendCommand(Protocol.Command.ASKING);
      }
      return j.get(pkey(user));
    }
  }

  private static long stat(int i, String command, String field) {
    try (Jedis j = CLUSTER.admin(i)) {
      return Long.parseLong(commandStats(j, command).getOrDefault(field, "0"));
    }
  }

  private static void resetStats() {
    for (int i = 0; i < CLUSTER.size(); i++) {
      try (Jedis j = CLUSTER.admin(i)) {
        j.configResetStat();
      }
    }
  }

  /** A user id {@code <prefix><i>} on the same slot as {@code user}. */
  private static String sameSlotAs(String user, String prefix) {
    for (int i = 0; ; i++) {
      if (slot(prefix + i) == slot(user)) {
        return prefix + i;
      }
    }
  }

  private static Map<Integer, List<String>> usersByNode(String prefix, int n) {
    Map<Integer, List<String>> out = new HashMap<>();
    for (int i = 0; i < n; i++) {
      out.computeIfAbsent(CLUSTER.owner(slot(prefix + i)), k -> new ArrayList<>()).add(prefix + i);
    }
    for (int i = 0; i < 3; i++) {
      assertTrue(out.containsKey(i), "no user on node " + i);
    }
    return out;
  }

  @Test
  void keySlotAgreesWithTheServer() {
    String[] users = {"u1", "a}b{c%", "ø", "}x", "{}", "用户-42", "x".repeat(128), ""};
    try (Jedis j = CLUSTER.admin(0)) {
      for (String u : users) {
        for (String k : new String[] {key(u), pkey(u), RedisLayout.userKey("other", u)}) {
          assertEquals(j.clusterKeySlot(k), RedisLayout.keySlot(k), k);
        }
      }
    }
  }

  @Test
  void writesSpreadOverAllMastersVersionedWithTtls() {
    Map<Integer, List<String>> byNode = usersByNode("user-", 60);
    try (TileWriter<Tile, Profile> w = writer()) {
      for (List<String> us : byNode.values()) {
        us.forEach(u -> stage(w, u, 3));
      }
      Map<String, Long> written = w.flush();
      assertEquals(60, written.size());
      assertEquals(T0 + 2, written.get("user-0"));
      for (Map.Entry<Integer, List<String>> e : byNode.entrySet()) {
        int i = e.getKey();
        try (Jedis j = CLUSTER.admin(i)) {
          assertEquals(2L * e.getValue().size(), j.dbSize()); // both keys of each user, here
          for (String u : e.getValue()) {
            assertTrue(j.ttl(key(u)) > TTL_S - 5 && j.ttl(pkey(u)) > PROFILE_TTL_S - 5);
          }
        }
        assertEquals(e.getValue().size(), stat(i, "evalsha", "calls")); // one call per user
        assertEquals(0, stat(i, "evalsha", "rejected_calls"));
      }
      for (List<String> us : byNode.values()) { // an older state arrives late: ignored
        us.forEach(u -> stage(w, u, 2));
      }
      w.flush();
      for (List<String> us : byNode.values()) {
        us.forEach(u -> stage(w, u, 5));
        stage(w, us.get(0), 1);
      }
      w.flush();
      for (Map.Entry<Integer, List<String>> e : byNode.entrySet()) {
        List<String> us = e.getValue();
        assertEquals("3;" + us.get(0), tile(e.getKey(), us.get(0), false));
        for (String u : us.subList(1, us.size())) {
          assertEquals("5;" + u, tile(e.getKey(), u, false));
          assertEquals("5;{\"v\":5}", profile(e.getKey(), u, false));
        }
      }
      String last = byNode.get(1).get(byNode.get(1).size() - 1);
      assertEquals(new StoredProfile("{\"v\":5}", true), w.readProfile(last));
      assertEquals(new StoredProfile(null, false), w.readProfile("never-seen"));
      assertEquals(0, w.retries());
      assertEquals(180, w.usersWritten());
    }
  }

  @Test
  void aSlotMovedBetweenStagingAndFlushFollowsMoved() {
    Map<Integer, List<String>> byNode = usersByNode("mv-", 30);
    String moved = byNode.get(0).get(0);
    int src = 0;
    int dst = 1;
    try (TileWriter<Tile, Profile> w = writer()) {
      byNode.values().forEach(us -> us.forEach(u -> stage(w, u, 2)));
      w.flush(); // the script is loaded everywhere; the moved user has keys to migrate
      byNode.values().forEach(us -> us.forEach(u -> stage(w, u, 4)));
      CLUSTER.startMigration(slot(moved), src, dst);
      CLUSTER.finishMigration(slot(moved), src, dst);
      resetStats();
      assertEquals(30, w.flush().size());
      assertEquals(1, rec.retries.size());
      assertInstanceOf(JedisMovedDataException.class, rec.retries.get(0));
      assertEquals("4;" + moved, tile(dst, moved, false));
      assertEquals("4;{\"v\":4}", profile(dst, moved, false));
      // only the redirected call was sent again
      assertEquals(byNode.get(0).size() - 1, stat(src, "evalsha", "calls"));
      assertEquals(1, stat(src, "evalsha", "rejected_calls"));
      assertEquals(byNode.get(1).size() + 1, stat(dst, "evalsha", "calls"));
      assertEquals(byNode.get(2).size(), stat(2, "evalsha", "calls"));
      assertEquals(new StoredProfile("{\"v\":4}", true), w.readProfile(moved));
    }
  }

  @Test
  void aSlotLeftMidMigrationIsFollowedWithAskWithinTheFlush() {
    String moved = "ask-user";
    String stays = sameSlotAs(moved, "ask-stay-");
    int slot = slot(moved);
    int src = CLUSTER.owner(slot);
    int dst = (src + 1) % 3;
    rec.maxSleeps = 0; // no backoff allowed: the slot stays mid-migration
    try (TileWriter<Tile, Profile> w = writer()) {
      stage(w, moved, 2);
      stage(w, stays, 2);
      w.flush(); // both on src; the writer never sent anything to dst
      CLUSTER.startMigration(slot, src, dst);
      CLUSTER.migrateKeys(src, dst, key(moved), pkey(moved));
      resetStats();
      stage(w, moved, 5);
      stage(w, stays, 5);
      assertEquals(Map.of(moved, T0 + 4, stays, T0 + 4), w.flush());
      assertEquals(0, w.retries());
      assertEquals("->-" + CLUSTER.nodeId(dst), CLUSTER.migrationState(src, slot));
      assertEquals("-<-" + CLUSTER.nodeId(src), CLUSTER.migrationState(dst, slot));
      assertEquals(src, CLUSTER.owner(slot));
      // the moved user on dst (ASKING + EVALSHA, the script loaded there first) ...
      assertEquals(1, stat(dst, "asking", "calls"));
      assertEquals(1, stat(dst, "script|load", "calls"));
      assertEquals(1, stat(dst, "evalsha", "calls"));
      assertEquals("5;{\"v\":5}", profile(dst, moved, true)); // (the test's own ASKING)
      // ... the other one on src, which answered ASK for the moved user only
      assertEquals("5;{\"v\":5}", profile(src, stays, false));
      List<?> onSrc = (List<?>) CLUSTER.cluster(src, "GETKEYSINSLOT", "" + slot, "10");
      assertEquals(java.util.Set.of(key(stays), pkey(stays)),
          onSrc.stream().map(k -> new String((byte[]) k)).collect(java.util.stream.Collectors.toSet()));
      assertEquals(1, stat(src, "evalsha", "calls"));
      assertEquals(1, stat(src, "evalsha", "rejected_calls"));
      assertEquals(0, stat(src, "asking", "calls"));
      // reading back follows the ASK too
      assertEquals(new StoredProfile("{\"v\":5}", true), w.readProfile(moved));
      assertEquals(new StoredProfile("{\"v\":5}", true), w.readProfile(stays));
      // dst lost its script cache: NOSCRIPT loads it and resends at once
      try (Jedis j = CLUSTER.admin(dst)) {
        j.scriptFlush();
      }
      resetStats();
      stage(w, moved, 7);
      assertEquals(Map.of(moved, T0 + 6), w.flush());
      assertEquals(0, w.retries());
      assertEquals(2, stat(src, "evalsha", "rejected_calls")); // ASK, ASK again after NOSCRIPT
      assertEquals(2, stat(dst, "asking", "calls"));
      assertEquals(1, stat(dst, "script|load", "calls"));
      assertEquals("7;{\"v\":7}", profile(dst, moved, true));
    } finally {
      CLUSTER.finishMigration(slot, src, dst);
    }
    assertEquals("7;" + moved, tile(dst, moved, false));
  }

  @Test
  void askToANodeNotYetInTheSlotMap() {
    String user = "ask-spare-user";
    int slot = slot(user);
    int src = CLUSTER.owner(slot);
    int spare = 3; // a master without slots: not in CLUSTER SLOTS
    rec.maxSleeps = 0;
    try (TileWriter<Tile, Profile> w = writer()) {
      stage(w, user, 2);
      w.flush();
      CLUSTER.startMigration(slot, src, spare);
      CLUSTER.migrateKeys(src, spare, key(user), pkey(user));
      resetStats();
      stage(w, user, 4);
      assertEquals(Map.of(user, T0 + 3), w.flush());
      assertEquals(0, w.retries());
      assertEquals(1, stat(spare, "asking", "calls"));
      assertEquals(1, stat(spare, "script|load", "calls"));
      assertEquals(1, stat(spare, "evalsha", "calls"));
      assertEquals("4;{\"v\":4}", profile(spare, user, true));
      assertEquals("-<-" + CLUSTER.nodeId(src), CLUSTER.migrationState(spare, slot));
    } finally {
      CLUSTER.finishMigration(slot, src, spare); // leave no slot mid-migration
    }
  }

  @Test
  void aNewUserDuringASlotMigrationWaitsForItsEnd() {
    String user = "ask-new-user"; // keys on neither node
    int slot = slot(user);
    int src = CLUSTER.owner(slot);
    int dst = (src + 1) % 3;
    CLUSTER.startMigration(slot, src, dst);
    rec.onRetry = e -> {
      if (rec.retries.size() == 1) {
        CLUSTER.finishMigration(slot, src, dst);
      }
    };
    try (TileWriter<Tile, Profile> w = writer()) {
      stage(w, user, 3);
      w.flush();
      // src answers ASK, followed; dst refuses a two-key call on keys it does not have while
      // importing (TRYAGAIN): the flush backs off until the migration ends
      assertEquals(1, rec.retries.size());
      JedisDataException e = assertInstanceOf(JedisDataException.class, rec.retries.get(0));
      assertTrue(e.getMessage().startsWith("TRYAGAIN"), e.getMessage());
      assertEquals(1, stat(dst, "asking", "calls"));
      assertEquals("3;" + user, tile(dst, user, false));
    }
  }

  @Test
  void aClusterNodeConfiguredAsOneServerIsAConfigurationError() {
    Map<Integer, List<String>> byNode = usersByNode("solo-", 30);
    RedisConfig single = CLUSTER.config().cluster(false).build();
    try (TileWriter<Tile, Profile> w = Fixtures.writer(single, TTL_S, PROFILE_TTL_S, rec)) {
      byNode.values().forEach(us -> us.forEach(u -> stage(w, u, 1)));
      RedisStoreException e = assertThrows(RedisStoreException.class, w::flush);
      assertTrue(e.getMessage().contains("cluster=true"), e.getMessage());
      assertEquals(0, w.retries());
      assertEquals(30 - byNode.get(0).size(), w.pendingUsers()); // node 0's own were written
    }
  }

  @Test
  void aMasterDownDuringAFlushLandsWhenItReturns() throws Exception {
    Map<Integer, List<String>> byNode = usersByNode("down-", 30);
    int down = 2;
    rec.realSleep = true; // the restarted node needs real time to rejoin
    rec.onRetry = e -> {
      if (rec.retries.size() == 1) {
        CLUSTER.server(down).start();
      }
    };
    try (TileWriter<Tile, Profile> w = writer()) {
      byNode.values().forEach(us -> us.forEach(u -> stage(w, u, 3)));
      w.flush(); // scripts loaded, connections open
      byNode.values().forEach(us -> us.forEach(u -> stage(w, u, 6)));
      CLUSTER.server(down).stop();
      assertEquals(30, w.flush().size());
    } finally {
      CLUSTER.server(down).start(); // no-op when already running
      CLUSTER.waitOk();
    }
    assertInstanceOf(JedisConnectionException.class, rec.retries.get(0));
    try (Jedis j = CLUSTER.admin(down)) {
      assertEquals(2L * byNode.get(down).size(), j.dbSize()); // restarted empty: the resent ones
    }
    for (Map.Entry<Integer, List<String>> e : byNode.entrySet()) {
      for (String u : e.getValue()) {
        assertEquals("6;" + u, tile(e.getKey(), u, false));
      }
    }
    assertNotNull(rec.sleeps.get(0));
  }
}
