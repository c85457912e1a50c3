package io.userpulse.flink.redis;

import java.util.List;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisRedirectionException;

/** One Redis server: every call in one pipeline over one connection. */
final class ServerSender implements Sender {

  private final RedisNode node;

  ServerSender(RedisConnections connections) {
    this.node = new RedisNode(connections.seed(), connections);
  }

  @Override
  public boolean cluster() {
    return false;
  }

  @Override
  public void send(List<ScriptCall> calls, SendRound round) {
    Pipelines.send(node, calls, false, round);
  }

  @Override
  public Object[] readProfile(byte[] key, byte[] profileKey, int slot) {
    Object[] r = Pipelines.readProfile(node, key, profileKey, false);
    for (Object o : r) {
      if (o instanceof JedisRedirectionException e) {
        throw new RedisStoreException("Redis at " + node + " is a cluster node ("
            + e.getMessage() + "): configure cluster=true", e);
      }
      if (o instanceof JedisDataException e) {
        throw e;
      }
    }
    return r;
  }

  @Override
  public void refresh() {}

  @Override
  public void close() {
    node.close();
  }
}
