package io.userpulse.flink.redis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisAccessControlException;
import redis.clients.jedis.exceptions.JedisAskDataException;
import redis.clients.jedis.exceptions.JedisClusterOperationException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * A Redis Cluster (docs/key-layout.md, "Redis Cluster"; the JVM twin of {@code
 * sinks/cluster_route.py}): the writer's own slot map from {@code CLUSTER SLOTS}, one connection
 * per primary, one pipeline per primary per send.
 *
 * <p>ASK (a slot in migration whose user's keys already moved) is followed within the same send:
 * the calls answered {@code -ASK <slot> <host:port>} go to that node as {@code ASKING} + {@code
 * EVALSHA} (one pipeline per target, the script loaded there first, also when the node is not in
 * the slot map yet), without touching the slot map. MOVED, TRYAGAIN, CLUSTERDOWN, an uncovered
 * slot or a node that is down leave the call for the writer to resend after its backoff, which
 * first calls {@link #refresh()}.
 */
final class ClusterSender implements Sender {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterSender.class);

  private final RedisConnections connections;
  private final HostAndPort seed;
  /** Every node met: primaries of the slot map and ASK targets. */
  private final Map<HostAndPort, RedisNode> nodes = new HashMap<>();
  /** Owner (primary) of each slot; null where not covered. */
  private HostAndPort[] owners = new HostAndPort[RedisLayout.SLOTS];
  private boolean mapped;

  ClusterSender(RedisConnections connections) {
    this.connections = connections;
    this.seed = connections.seed();
  }

  @Override
  public boolean cluster() {
    return true;
  }

  @Override
  public void send(List<ScriptCall> calls, SendRound round) {
    if (!mapped) {
      refresh();
    }
    Map<HostAndPort, List<ScriptCall>> groups = new LinkedHashMap<>();
    for (ScriptCall call : calls) {
      HostAndPort owner = owners[call.slot];
      if (owner == null) {
        round.retry(call, uncovered(call.slot));
      } else {
        groups.computeIfAbsent(owner, k -> new ArrayList<>()).add(call);
      }
    }
    for (Map.Entry<HostAndPort, List<ScriptCall>> g : groups.entrySet()) {
      Pipelines.send(node(g.getKey()), g.getValue(), false, round);
    }
    if (round.asked != null) {
      Map<HostAndPort, List<ScriptCall>> asked = round.asked;
      round.asked = null;
      for (Map.Entry<HostAndPort, List<ScriptCall>> a : asked.entrySet()) {
        Pipelines.send(node(a.getKey()), a.getValue(), true, round);
      }
    }
  }

  @Override
  public Object[] readProfile(byte[] key, byte[] profileKey, int slot) {
    if (!mapped) {
      refresh();
    }
    HostAndPort owner = owners[slot];
    if (owner == null) {
      throw uncovered(slot);
    }
    Object[] r = Pipelines.readProfile(node(owner), key, profileKey, false);
    HostAndPort target = null;
    for (Object o : r) {
      if (o instanceof JedisAskDataException a) {
        target = a.getTargetNode();
      }
    }
    if (target != null) { // keys in migration: the moved one(s) are read on the target
      Object[] t = Pipelines.readProfile(node(target), key, profileKey, true);
      for (int i = 0; i < r.length; i++) {
        if (r[i] instanceof JedisAskDataException) {
          r[i] = t[i];
        }
      }
    }
    for (Object o : r) {
      if (o instanceof JedisDataException e) {
        throw e;
      }
    }
    return r;
  }

  /**
   * Reloads the slot map with {@code CLUSTER SLOTS} from the first node that answers (the
   * configured one, then every node met); keeps the old map when none does.
   *
   * @throws RedisStoreException the connection set-up or CLUSTER SLOTS was refused (ACL)
   */
  @Override
  public void refresh() {
    Set<HostAndPort> candidates = new LinkedHashSet<>();
    candidates.add(seed);
    candidates.addAll(nodes.keySet());
    for (HostAndPort at : candidates) {
      try {
        Object reply = node(at).connection()
            .executeCommand(new CommandArguments(Protocol.Command.CLUSTER).add("SLOTS"));
        owners = parseSlots(reply, at);
        mapped = true;
        return;
      } catch (JedisAccessControlException e) {
        throw new RedisStoreException("CLUSTER SLOTS refused by " + at + " (the ACL user needs "
            + "+cluster|slots): " + e.getMessage(), e);
      } catch (JedisException e) {
        node(at).close();
        LOG.debug("CLUSTER SLOTS failed on {}: {}", at, e.toString());
      }
    }
    LOG.warn("could not refresh the Redis Cluster slot map from any of {}", candidates);
  }

  /** The slot owners of a CLUSTER SLOTS reply (an empty host means the node asked). */
  private static HostAndPort[] parseSlots(Object reply, HostAndPort asked) {
    HostAndPort[] map = new HostAndPort[RedisLayout.SLOTS];
    for (Object o : (List<?>) reply) {
      List<?> range = (List<?>) o;
      int lo = ((Long) range.get(0)).intValue();
      int hi = ((Long) range.get(1)).intValue();
      List<?> primary = (List<?>) range.get(2);
      String host = new String((byte[]) primary.get(0), StandardCharsets.UTF_8);
      int port = ((Long) primary.get(1)).intValue();
      HostAndPort hp = new HostAndPort(host.isEmpty() || host.equals("?")
          ? asked.getHost() : host, port);
      Arrays.fill(map, lo, hi + 1, hp);
    }
    return map;
  }

  /**
   * The connection to the primary owning {@code slot} (the slot map loaded first if it never
   * was), for the store watch ({@link ClusterProbe}).
   *
   * @throws JedisClusterOperationException no primary serves the slot
   * @throws redis.clients.jedis.exceptions.JedisConnectionException the primary is unreachable
   */
  Connection ownerOf(int slot) {
    if (!mapped) {
      refresh();
    }
    HostAndPort owner = owners[slot];
    if (owner == null) {
      throw uncovered(slot);
    }
    return node(owner).connection();
  }

  /**
   * A connection to each primary of the slot map (each node serving at least one slot), for
   * the store watch ({@link ClusterProbe}).
   *
   * @throws JedisClusterOperationException the slot map is empty (never loaded)
   * @throws redis.clients.jedis.exceptions.JedisConnectionException a primary is unreachable
   */
  List<Connection> primaryConnections() {
    Set<HostAndPort> primaries = new LinkedHashSet<>(Arrays.asList(owners));
    primaries.remove(null);
    if (primaries.isEmpty()) {
      throw new JedisClusterOperationException("no slot map of the cluster yet");
    }
    List<Connection> out = new ArrayList<>();
    for (HostAndPort p : primaries) {
      out.add(node(p).connection());
    }
    return out;
  }

  private RedisNode node(HostAndPort at) {
    return nodes.computeIfAbsent(at, a -> new RedisNode(a, connections));
  }

  private static JedisClusterOperationException uncovered(int slot) {
    return new JedisClusterOperationException("slot " + slot + " is not served by any node");
  }

  @Override
  public void close() {
    for (RedisNode n : nodes.values()) {
      n.close();
    }
    nodes.clear();
  }
}
