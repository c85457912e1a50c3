package io.userpulse.flink.redis;

import java.util.List;

/**
 * What the {@link StoreWatch} reads and writes, on one server ({@link #server}) or on a Redis
 * Cluster ({@link #cluster}: each key on the primary owning its slot, the {@code run_id} of
 * every primary). Not thread-safe; connects on first use and again after {@link #close()}.
 *
 * <p>Every method may throw what Jedis throws: {@link
 * redis.clients.jedis.exceptions.JedisConnectionException} (unreachable, retry later), {@link
 * redis.clients.jedis.exceptions.JedisDataException} (an error reply: a transient state,
 * MOVED, or a refusal such as NOPERM), {@link
 * redis.clients.jedis.exceptions.JedisClusterOperationException} (a slot no primary serves).
 */
interface StoreProbe extends AutoCloseable {

  /** The string value of {@code key}, or null when it does not exist. */
  String get(String key);

  /** SET {@code key} {@code value}. */
  void set(String key, String value);

  /** EVAL {@code script} with one key and one argument; the script's reply. */
  Object eval(String script, String key, String arg);

  /**
   * The {@code run_id} ({@code INFO server}) of the server, or of every primary of the cluster
   * (those serving at least one slot), in no particular order.
   */
  List<String> runIds();

  /** Closes the connections (reopened on the next use). */
  @Override
  void close();

  /**
   * The probe for {@code connections}: one server, or the cluster it names a node of when
   * {@link RedisConfig#cluster()}.
   */
  static StoreProbe of(RedisConnections connections) {
    return connections.config().cluster() ? new ClusterProbe(connections)
        : new ServerProbe(connections);
  }

  /** The {@code run_id} line of an {@code INFO server} reply, or null. */
  static String runId(String info) {
    for (String line : info.split("\r?\n")) {
      if (line.startsWith("run_id:")) {
        return line.substring(7).trim();
      }
    }
    return null;
  }
}
