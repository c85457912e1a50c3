package io.userpulse.flink.redis;

import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import redis.clients.jedis.Jedis;

/**
 * JUnit 5 extension: one {@code redis-server} per test class on a free loopback port in a temp
 * directory, emptied (FLUSHALL, SCRIPT FLUSH kept, CONFIG RESETSTAT) before each test, stopped
 * and removed after the class. Register with {@code @RegisterExtension static} (public for the
 * tests of other packages, e.g. the operator harness tests).
 */
public final class RedisServerExtension implements BeforeAllCallback, BeforeEachCallback,
    AfterAllCallback {

  private final List<String> extraArgs;
  private LocalRedis server;

  /** @param extraArgs further redis-server options (e.g. TLS) */
  public RedisServerExtension(String... extraArgs) {
    this.extraArgs = List.of(extraArgs);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    server = new LocalRedis(Files.createTempDirectory("redis-test-"), LocalRedis.freePort(),
        extraArgs);
    server.start();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    try (Jedis j = admin()) {
      j.flushAll();
      j.configSet("maxmemory", "0");
      j.configResetStat();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    server.close();
  }

  /** The running server. */
  LocalRedis server() {
    return server;
  }

  /** Its plain port. */
  public int port() {
    return server.port;
  }

  /** A new admin connection (default user, no password). */
  public Jedis admin() {
    return server.admin();
  }

  /** A writer configuration for this server (no AUTH, no TLS). */
  RedisConfig.Builder config() {
    return RedisConfig.builder().host("127.0.0.1").port(server.port).timeoutMs(2_000);
  }
}
