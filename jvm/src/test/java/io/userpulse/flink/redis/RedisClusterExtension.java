package io.userpulse.flink.redis;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;

/**
 * JUnit 5 extension: a local Redis Cluster per test class (like {@code
 * tests/integration/clusterkit.py}): {@code masters} redis-servers with {@code
 * --cluster-enabled yes}, node {@code i} owning slots {@code [i*S/n, (i+1)*S/n)} (CLUSTER
 * ADDSLOTSRANGE), plus {@code spare} masters without slots, joined by CLUSTER MEET; ready when
 * every node says {@code cluster_state:ok} and agrees on the slot map. Every node has the job's
 * ACL user, and one like it without {@code +info} (aclfile, so they survive a restart). Emptied before each test, removed afterwards.
 */
final class RedisClusterExtension implements BeforeAllCallback, BeforeEachCallback,
    AfterAllCallback {

  static final String USER = "userpulse-job";
  static final String PASSWORD = "test-job-pw";
  /** The job's rules without {@code +info} (a store watch that sees the marker alone). */
  static final String USER_WITHOUT_INFO = "userpulse-job-noinfo";

  private final int masters;
  private final int spare;
  private final List<LocalRedis> nodes = new ArrayList<>();
  private Path root;

  RedisClusterExtension(int masters, int spare) {
    this.masters = masters;
    this.spare = spare;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    root = Files.createTempDirectory("redis-cluster-");
    for (int i = 0; i < masters + spare; i++) {
      Path dir = Files.createDirectories(root.resolve("n" + i));
      Files.writeString(dir.resolve("users.acl"), "user default on nopass ~* &* +@all\n"
          + "user " + USER + " on >" + PASSWORD + " " + Fixtures.JOB_RULES + "\n"
          + "user " + USER_WITHOUT_INFO + " on >" + PASSWORD + " " + Fixtures.JOB_RULES
          + " -info\n");
      nodes.add(new LocalRedis(dir, LocalRedis.freePort(), List.of(
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
          "--cluster-port", "" + LocalRedis.freePort(), "--cluster-allow-replica-migration", "no", "--aclfile", dir + "/users.acl")));
    }
    for (LocalRedis n : nodes) {
      n.start();
    }
    for (int i = 0; i < masters; i++) {
      int lo = i * RedisLayout.SLOTS / masters;
      int hi = (i + 1) * RedisLayout.SLOTS / masters - 1;
      cluster(i, "ADDSLOTSRANGE", "" + lo, "" + hi);
    }
    for (int i = 1; i < nodes.size(); i++) {
      String bus = configGet(i, "cluster-port");
      cluster(0, "MEET", "127.0.0.1", "" + nodes.get(i).port, bus);
    }
    waitOk();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    for (int i = 0; i < nodes.size(); i++) {
      try (Jedis j = admin(i)) {
        j.flushAll();
        j.configResetStat();
      }
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    for (LocalRedis n : nodes) {
      n.close();
    }
    Files.deleteIfExists(root);
  }

  /** Number of nodes (masters with slots first, then the spare ones). */
  int size() {
    return nodes.size();
  }

  /** The server of node {@code i} (stop / start it to take the node down). */
  LocalRedis server(int i) {
    return nodes.get(i);
  }

  /** A new admin connection to node {@code i} only (no redirection followed). */
  Jedis admin(int i) {
    return nodes.get(i).admin();
  }

  /** The writer's configuration: the job's ACL user, entering through node 0. */
  RedisConfig.Builder config() {
    return RedisConfig.builder().host("127.0.0.1").port(nodes.get(0).port).cluster(true)
        .username(USER).password(PASSWORD).timeoutMs(2_000);
  }

  /** {@code CLUSTER <args>} on node {@code i}. */
  Object cluster(int i, String... args) {
    try (Jedis j = admin(i)) {
      return j.sendCommand(Protocol.Command.CLUSTER, args);
    }
  }

  private String configGet(int i, String name) {
    try (Jedis j = admin(i)) {
      return j.configGet(name).get(name);
    }
  }

  /** CLUSTER MYID of node {@code i}. */
  String nodeId(int i) {
    return new String((byte[]) cluster(i, "MYID"));
  }

  /** Index of the node owning {@code slot}, according to node 0 (CLUSTER SLOTS). */
  int owner(int slot) {
    for (Object o : (List<?>) cluster(0, "SLOTS")) {
      List<?> r = (List<?>) o;
      if ((Long) r.get(0) <= slot && slot <= (Long) r.get(1)) {
        long port = (Long) ((List<?>) r.get(2)).get(1);
        for (int i = 0; i < nodes.size(); i++) {
          if (nodes.get(i).port == port) {
            return i;
          }
        }
      }
    }
    throw new IllegalStateException("slot " + slot + " is not covered");
  }

  /** SETSLOT IMPORTING on {@code dst}, then MIGRATING on {@code src}; no key moves. */
  void startMigration(int slot, int src, int dst) {
    cluster(dst, "SETSLOT", "" + slot, "IMPORTING", nodeId(src));
    cluster(src, "SETSLOT", "" + slot, "MIGRATING", nodeId(dst));
  }

  /** MIGRATE {@code keys} (of a slot in migration) from node {@code src} to {@code dst}. */
  void migrateKeys(int src, int dst, String... keys) {
    List<String> args = new ArrayList<>(List.of("127.0.0.1", "" + nodes.get(dst).port, "", "0",
        "5000", "KEYS"));
    args.addAll(List.of(keys));
    try (Jedis j = admin(src)) {
      j.sendCommand(Protocol.Command.MIGRATE, args.toArray(new String[0]));
    }
  }

  /** Moves the slot's remaining keys to {@code dst} and assigns it there on every node. */
  void finishMigration(int slot, int src, int dst) {
    List<?> keys = (List<?>) cluster(src, "GETKEYSINSLOT", "" + slot, "1000");
    if (!keys.isEmpty()) {
      migrateKeys(src, dst, keys.stream().map(k -> new String((byte[]) k)).toArray(String[]::new));
    }
    String dstId = nodeId(dst);
    List<Integer> order = new ArrayList<>(List.of(dst, src));
    for (int i = 0; i < nodes.size(); i++) {
      if (i != src && i != dst) {
        order.add(i);
      }
    }
    for (int i : order) {
      cluster(i, "SETSLOT", "" + slot, "NODE", dstId);
    }
    waitOk();
  }

  /** Node {@code i}'s view of {@code slot} in migration: {@code ->-<id>}, {@code -<-<id>} or
   * null. */
  String migrationState(int i, int slot) {
    String text;
    try (Jedis j = admin(i)) {
      text = j.clusterNodes();
    }
    for (String line : text.split("\n")) {
      String[] parts = line.split(" ");
      if (parts.length > 2 && parts[2].contains("myself")) {
        for (int p = 8; p < parts.length; p++) {
          if (parts[p].startsWith("[" + slot + "-")) {
            return parts[p].substring(("[" + slot).length(), parts[p].length() - 1);
          }
        }
      }
    }
    return null;
  }

  /** Waits (30 s at most) until every node is ok, knows every node and agrees on the slots. */
  void waitOk() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        boolean ok = true;
        String slots0 = null;
        for (int i = 0; i < nodes.size() && ok; i++) {
          try (Jedis j = admin(i)) {
            ok = j.clusterInfo().contains("cluster_state:ok")
                && j.clusterNodes().trim().split("\n").length == nodes.size();
            String slots = slotsText(j);
            ok = ok && (slots0 == null || slots0.equals(slots));
            slots0 = slots;
          }
        }
        if (ok) {
          return;
        }
      } catch (RuntimeException e) {
        // a node still starting
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("cluster did not become ok");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  private static String slotsText(Jedis j) {
    List<String> out = new ArrayList<>();
    for (Object o : (List<?>) j.sendCommand(Protocol.Command.CLUSTER, "SLOTS")) {
      List<?> r = (List<?>) o;
      out.add(r.get(0) + "-" + r.get(1) + "@" + ((List<?>) r.get(2)).get(1));
    }
    out.sort(null);
    return out.toString();
  }
}
