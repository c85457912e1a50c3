package io.userpulse.flink.redis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.Protocol;

/**
 * {@link StoreProbe} of a Redis Cluster: the slot map ({@code CLUSTER SLOTS}, reloaded before
 * each {@link #runIds()} and after {@link #close()}) and one connection per primary come from a {@link ClusterSender} of its
 * own; a key's command goes to the primary owning the key's slot ({@link RedisLayout#keySlot}),
 * so a MOVED reply (a slot moved since) is an error the watch retries at its next check.
 */
final class ClusterProbe implements StoreProbe {

  private final ClusterSender cluster;
  /** Whether to reload the slot map before the next key command (at first, after an error). */
  private boolean remap = true;

  ClusterProbe(RedisConnections connections) {
    this.cluster = new ClusterSender(connections);
  }

  private Object call(String key, CommandArguments args) {
    if (remap) {
      cluster.refresh();
      remap = false;
    }
    return cluster.ownerOf(RedisLayout.keySlot(key)).executeCommand(args);
  }

  private static String text(Object reply) {
    return reply == null ? null : new String((byte[]) reply, StandardCharsets.UTF_8);
  }

  @Override
  public String get(String key) {
    return text(call(key, new CommandArguments(Protocol.Command.GET).key(key)));
  }

  @Override
  public void set(String key, String value) {
    call(key, new CommandArguments(Protocol.Command.SET).key(key).add(value));
  }

  @Override
  public Object eval(String script, String key, String arg) {
    return call(key, new CommandArguments(Protocol.Command.EVAL).add(script).add(1).key(key)
        .add(arg));
  }

  @Override
  public List<String> runIds() {
    cluster.refresh();
    remap = false;
    List<String> ids = new ArrayList<>();
    for (Connection c : cluster.primaryConnections()) {
      String id = StoreProbe.runId(text(
          c.executeCommand(new CommandArguments(Protocol.Command.INFO).add("server"))));
      if (id != null) {
        ids.add(id);
      }
    }
    return ids;
  }

  @Override
  public void close() {
    cluster.close();
    remap = true;
  }
}
