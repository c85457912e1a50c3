package io.userpulse.flink.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;

/**
 * The store watch ({@link StoreWatch}) against a real local Redis Cluster of 3 masters and one
 * spare: a primary restarted empty that does not hold the generation marker is seen by its new
 * {@code run_id}, and (the control) the marker alone misses it.
 */
class ClusterStoreWatchTest {

  @RegisterExtension
  static final RedisClusterExtension CLUSTER = new RedisClusterExtension(3, 1);

  @Test
  void theStoreWatchSeesAPrimaryRestartedEmptyThatDoesNotHoldTheMarker() throws Exception {
    String marker = RedisLayout.generationKey(RedisLayout.PREFIX);
    String run = RedisLayout.runKey(RedisLayout.PREFIX);
    int holder = CLUSTER.owner(RedisLayout.keySlot(marker));
    int restarted = (holder + 1) % 3; // a primary whose loss the marker alone would not show
    try (StoreWatch w = new StoreWatch(CLUSTER.config().build(), RedisLayout.PREFIX, 0)) {
      assertEquals(new StoreWatch.Check(1, false, null), w.check());
      assertEquals(RedisLayout.runRecord(primaryRunIds()), recorded(run)); // every primary
      assertTrue(recorded(run).split(RedisLayout.RUN_SEP).length >= 3, recorded(run));
      assertEquals(new StoreWatch.Check(1, false, null), w.check());
      String old = runIds().get(restarted);
      CLUSTER.server(restarted).stop(); // no persistence: it comes back empty, same slots
      CLUSTER.server(restarted).start();
      CLUSTER.waitOk();
      StoreWatch.Check c = checked(w);
      assertEquals(new StoreWatch.Check(2, true, "Redis restarted (new run_id)"), c);
      try (Jedis j = CLUSTER.admin(holder)) {
        assertEquals("2", j.get(marker));
      }
      assertEquals(RedisLayout.runRecord(primaryRunIds()), recorded(run));
      assertTrue(!recorded(run).contains(old), recorded(run));
      assertEquals(new StoreWatch.Check(2, false, null), checked(w)); // once only
    }
  }

  @Test
  void controlTheMarkerAloneMissesThatPrimary() throws Exception {
    String marker = RedisLayout.generationKey(RedisLayout.PREFIX);
    int restarted = (CLUSTER.owner(RedisLayout.keySlot(marker)) + 1) % 3;
    RedisConfig noInfo =
        CLUSTER.config().username(RedisClusterExtension.USER_WITHOUT_INFO).build();
    try (StoreWatch w = new StoreWatch(noInfo, RedisLayout.PREFIX, 0)) {
      assertEquals(new StoreWatch.Check(1, false, null), w.check());
      CLUSTER.server(restarted).stop(); // its data is gone; the marker is not
      CLUSTER.server(restarted).start();
      CLUSTER.waitOk();
      assertEquals(new StoreWatch.Check(1, false, null), checked(w)); // the loss goes unseen
    }
  }

  /** The next check that could ask the cluster (one right after a restart finds the old
   * connection broken and answers null). */
  private static StoreWatch.Check checked(StoreWatch w) throws InterruptedException {
    for (int i = 0; i < 50; i++) {
      StoreWatch.Check c = w.check();
      if (c != null) {
        return c;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the store watch could not ask the cluster for 5 s");
  }

  /** The run_id of each node, by index. */
  private static List<String> runIds() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < CLUSTER.size(); i++) {
      try (Jedis j = CLUSTER.admin(i)) {
        ids.add(StoreProbe.runId(j.info("server")));
      }
    }
    return ids;
  }

  /** The run_ids of the nodes serving slots (CLUSTER NODES: a master line with slot ranges;
   * an earlier test may have moved a slot to the spare node). */
  private static List<String> primaryRunIds() {
    List<String> ids = runIds();
    List<String> out = new ArrayList<>();
    String nodes = new String((byte[]) CLUSTER.cluster(0, "NODES"));
    for (String line : nodes.split("\n")) {
      String[] f = line.trim().split(" ");
      if (f.length > 8 && f[2].contains("master")) {
        int port = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1, f[1].indexOf('@')));
        for (int i = 0; i < CLUSTER.size(); i++) {
          if (CLUSTER.server(i).port == port) {
            out.add(ids.get(i));
          }
        }
      }
    }
    return out;
  }

  private static String recorded(String runKey) {
    try (Jedis j = CLUSTER.admin(CLUSTER.owner(RedisLayout.keySlot(runKey)))) {
      return j.get(runKey);
    }
  }
}
