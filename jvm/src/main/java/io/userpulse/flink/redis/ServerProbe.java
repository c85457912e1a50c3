package io.userpulse.flink.redis;

import java.util.ArrayList;
import java.util.List;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;

/** {@link StoreProbe} of one Redis server: one {@link Jedis} connection. */
final class ServerProbe implements StoreProbe {

  private final RedisConnections connections;
  private Jedis jedis;

  ServerProbe(RedisConnections connections) {
    this.connections = connections;
  }

  private Jedis jedis() {
    if (jedis == null) {
      jedis = connections.jedis();
    }
    return jedis;
  }

  @Override
  public String get(String key) {
    return jedis().get(key);
  }

  @Override
  public void set(String key, String value) {
    jedis().set(key, value);
  }

  @Override
  public Object eval(String script, String key, String arg) {
    return jedis().eval(script, 1, key, arg);
  }

  @Override
  public List<String> runIds() {
    List<String> ids = new ArrayList<>();
    String id = StoreProbe.runId(jedis().info("server"));
    if (id != null) {
      ids.add(id);
    }
    return ids;
  }

  @Override
  public void close() {
    if (jedis != null) {
      try {
        jedis.close();
      } catch (JedisException ignored) {
        // already broken: nothing to release
      }
      jedis = null;
    }
  }
}
