package io.userpulse.flink.redis;

import redis.clients.jedis.Connection;
import redis.clients.jedis.HostAndPort;

/**
 * One Redis server or cluster node as the writer sees it: one connection, opened on first use and
 * again after it broke, and whether the write script is known to be loaded there (assumed not on
 * a new connection: the server may have restarted with an empty script cache).
 */
final class RedisNode implements AutoCloseable {

  final HostAndPort address;
  private final RedisConnections connections;
  private Connection connection;
  /** Whether SCRIPT LOAD succeeded on the current connection and no NOSCRIPT came since. */
  boolean scriptLoaded;

  RedisNode(HostAndPort address, RedisConnections connections) {
    this.address = address;
    this.connections = connections;
  }

  /**
   * The open connection, (re)connecting when there is none or it broke.
   *
   * @throws redis.clients.jedis.exceptions.JedisConnectionException unreachable (retryable)
   * @throws RedisStoreException the connection set-up was refused (AUTH, SELECT)
   */
  Connection connection() {
    if (connection != null && (connection.isBroken() || !connection.isConnected())) {
      close();
    }
    if (connection == null) {
      connection = connections.connect(address);
      scriptLoaded = false;
    }
    return connection;
  }

  /** Closes the connection (after an error left it in an unknown state); reopened on use. */
  @Override
  public void close() {
    if (connection != null) {
      try {
        connection.close();
      } catch (RuntimeException ignored) {
        // already broken: nothing to release
      }
      connection = null;
    }
  }

  @Override
  public String toString() {
    return address.toString();
  }
}
