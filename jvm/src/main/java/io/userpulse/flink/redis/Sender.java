package io.userpulse.flink.redis;

import java.util.List;

/** Where a flush's calls go: one server ({@link ServerSender}) or a cluster ({@link
 * ClusterSender}). Not thread-safe. */
interface Sender extends AutoCloseable {

  /** Whether the target is a Redis Cluster. */
  boolean cluster();

  /**
   * Sends {@code calls} once (one pipeline per node; ASK followed at once) and sorts the
   * outcome into {@code round}.
   *
   * @throws RedisStoreException the connection set-up was refused
   */
  void send(List<ScriptCall> calls, SendRound round);

  /**
   * GET of the profile key and EXISTS of the tile hash, from the node owning their slot.
   *
   * @return the GET reply (bytes or null) and the EXISTS reply (a Long)
   * @throws redis.clients.jedis.exceptions.JedisException a lost connection, a timeout or an
   *     error reply (the caller decides whether to retry)
   */
  Object[] readProfile(byte[] key, byte[] profileKey, int slot);

  /** Called before each retry: a cluster reloads its slot map. */
  void refresh();

  /** Closes every connection. */
  @Override
  void close();
}
