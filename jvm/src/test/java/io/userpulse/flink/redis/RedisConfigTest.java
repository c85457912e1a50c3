package io.userpulse.flink.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.redis.Fixtures.Profile;
import io.userpulse.flink.redis.Fixtures.Tile;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

/** {@link RedisConfig}, {@link RetryPolicy} and argument checks: no I/O. */
class RedisConfigTest {

  @Test
  void defaultsAreThoseOfTheSettings() {
    RedisConfig c = RedisConfig.builder().build();
    assertEquals("127.0.0.1", c.host());
    assertEquals(16379, c.port());
    assertEquals(0, c.db());
    assertEquals(5_000, c.timeoutMs());
    assertTrue(c.tlsCheckHostname());
    assertFalse(c.tls() || c.cluster());
  }

  @Test
  void toStringNeverShowsThePassword() {
    RedisConfig c = RedisConfig.builder().username("userpulse-job").password("s3cr3t-pw")
        .tls(true).tlsCaFile("/ca.crt").build();
    assertFalse(c.toString().contains("s3cr3t"), c.toString());
    assertTrue(c.toString().contains("password=***"));
    assertTrue(c.toString().contains("rediss://127.0.0.1:16379/0"));
    assertTrue(c.toString().contains("username=userpulse-job"));
  }

  @Test
  void serializableValue() throws Exception {
    RedisConfig c = RedisConfig.builder().host("redis.internal").port(6380).username("u")
        .password("p").cluster(true).timeoutMs(750).build();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(c);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      RedisConfig back = (RedisConfig) in.readObject();
      assertEquals(c, back);
      assertEquals("p", back.password());
    }
    assertEquals(c, c.toBuilder().build());
    assertEquals(6381, c.toBuilder().port(6381).build().port());
  }

  @Test
  void invalidCombinationsAreRejectedWithTheSettingNamed() {
    assertMessage("port", () -> RedisConfig.builder().port(0).build());
    assertMessage("db must be 0", () -> RedisConfig.builder().cluster(true).db(2).build());
    assertMessage("timeoutMs", () -> RedisConfig.builder().timeoutMs(0).build());
    assertMessage("username", () -> RedisConfig.builder().username("u").build());
    assertMessage("tlsKeyFile", () -> RedisConfig.builder().tlsCertFile("c.crt").build());
    assertMessage("host", () -> RedisConfig.builder().host(" ").build());
    assertMessage("initialBackoffMs", () -> new RetryPolicy(0, 10, RetryPolicy.Sleeper.REAL));
    assertMessage("initialBackoffMs", () -> new RetryPolicy(20, 10, RetryPolicy.Sleeper.REAL));
    RedisConfig ok = RedisConfig.builder().build();
    assertMessage("ttlS", () -> new TileWriter<Tile, Profile>(ok, "up:v1", 0, 1, TextAppender.of(Tile::encode),
        Profile::version, TextAppender.of(Profile::json), RetryPolicy.DEFAULT, WriterListener.NONE));
    assertMessage("prefix", () -> new TileWriter<Tile, Profile>(ok, "", 1, 1, TextAppender.of(Tile::encode),
        Profile::version, TextAppender.of(Profile::json), RetryPolicy.DEFAULT, WriterListener.NONE));
  }

  @Test
  void backoffDoublesUpToTheCap() {
    RetryPolicy p = RetryPolicy.DEFAULT;
    assertEquals(50, p.initialBackoffMs());
    long d = p.initialBackoffMs();
    StringBuilder seen = new StringBuilder();
    for (int i = 0; i < 9; i++) {
      seen.append(d).append(' ');
      d = p.next(d);
    }
    assertEquals("50 100 200 400 800 1600 3200 5000 5000 ", seen.toString());
  }

  @Test
  void errorCodesIncludingTheOnesAScriptWraps() {
    assertTrue(RedisErrors.isTransient(err("LOADING Redis is loading the dataset in memory")));
    assertTrue(RedisErrors.isTransient(err("OOM command not allowed when used memory > "
        + "'maxmemory'. script: f61d, on @user_script:51.")));
    assertTrue(RedisErrors.isTransient(err("ERR Error running script (call to f_1): "
        + "@user_script:6: @user_script: 6: -READONLY You can't write against a read only "
        + "replica.")));
    assertTrue(RedisErrors.isTransient(err("BUSY Redis is busy running a script.")));
    assertTrue(RedisErrors.isTransient(err("MASTERDOWN Link with MASTER is down")));
    assertTrue(RedisErrors.isTransient(err("TRYAGAIN Multiple keys request during rehashing")));
    assertTrue(RedisErrors.isTransient(err("CLUSTERDOWN The cluster is down")));
    assertFalse(RedisErrors.isTransient(err("WRONGTYPE Operation against a key holding the "
        + "wrong kind of value script: f61d, on @user_script:15.")));
    assertFalse(RedisErrors.isTransient(err("NOPERM this user has no permissions")));
    assertFalse(RedisErrors.isTransient(err("ERR Error running script (call to f_1): "
        + "@user_script:15: WRONGTYPE Operation against a key")));
  }

  private static redis.clients.jedis.exceptions.JedisDataException err(String m) {
    return new redis.clients.jedis.exceptions.JedisDataException(m);
  }

  private static void assertMessage(String part, org.junit.jupiter.api.function.Executable e) {
    IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
    assertTrue(x.getMessage().contains(part), x.getMessage());
  }
}
