package io.userpulse.flink.redis;

import static io.userpulse.flink.redis.Fixtures.T0;
import static io.userpulse.flink.redis.Fixtures.key;
import static io.userpulse.flink.redis.Fixtures.pkey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.userpulse.flink.redis.Fixtures.Profile;
import io.userpulse.flink.redis.Fixtures.Recorder;
import io.userpulse.flink.redis.Fixtures.Tile;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;

/**
 * The writer as the job's ACL user ({@code userpulse/redis_acl.py}, role {@code job}): user and
 * password AUTH, nothing sent that the role may not run, a wrong password fails at once.
 */
class RedisAclTest {

  @RegisterExtension
  static final RedisServerExtension REDIS = new RedisServerExtension();
  private static final String USER = "userpulse-job";
  private static final String PASSWORD = "test-job-pw";

  private final Recorder rec = new Recorder();

  @BeforeEach
  void createJobUser() {
    try (Jedis r = REDIS.admin()) {
      r.aclDelUser(USER);
      List<String> rules = new java.util.ArrayList<>(List.of("on", ">" + PASSWORD));
      rules.addAll(List.of(Fixtures.JOB_RULES.split(" ")));
      r.aclSetUser(USER, rules.toArray(new String[0]));
      r.aclLogReset();
    }
  }

  private RedisConfig.Builder job() {
    return REDIS.config().username(USER).password(PASSWORD);
  }

  @Test
  void theJobUserWritesPrunesAndReadsBackWithoutDeniedCommands() {
    try (TileWriter<Tile, Profile> w = Fixtures.writer(job().build(), 1_000, 2_000, rec);
        Jedis r = REDIS.admin()) {
      w.stageTile("uA", 1000, 1, new Tile(1, "x"));
      w.stageTile("uA", 1000, 2, new Tile(1, "y"));
      w.stageLastSeen("uA", T0);
      w.stageProfile("uA", new Profile(1, "{\"v\":1}"));
      assertEquals(Map.of("uA", T0), w.flush());
      w.stagePrune("uA", 1000, List.of(1L));
      w.flush();
      assertEquals(Map.of("t:1000:2", "1;y", "ls", Long.toString(T0), "p:1000", "1"),
          r.hgetAll(key("uA")));
      assertEquals("1;{\"v\":1}", r.get(pkey("uA")));
      assertEquals(new StoredProfile("{\"v\":1}", true), w.readProfile("uA"));
      assertEquals(List.of(), r.aclLog()); // nothing the role may not run (no CLIENT SETINFO)
      assertEquals(List.of(), rec.retries);
    }
  }

  @Test
  void aKeyOutsideTheRolesPrefixIsAPerUserFailure() {
    try (TileWriter<Tile, Profile> w = new TileWriter<>(job().build(), "other:v1", 1_000, 2_000,
        TextAppender.of(Tile::encode), Profile::version, TextAppender.of(Profile::json), rec.policy(), rec)) {
      w.stageTile("uA", 1000, 1, new Tile(1, "x"));
      RedisWriteException e = assertThrows(RedisWriteException.class, w::flush);
      assertEquals("other:v1:{uA}", e.failures().get(0).key());
      assertTrue(e.failures().get(0).error().startsWith("NOPERM"), e.failures().toString());
    }
  }

  @Test
  void aWrongPasswordFailsAtOnceWithoutShowingIt() {
    RedisConfig bad = job().password("not-the-password").build();
    try (TileWriter<Tile, Profile> w = Fixtures.writer(bad, 1_000, 2_000, rec)) {
      w.stageTile("uA", 1000, 1, new Tile(1, "x"));
      RedisStoreException e = assertThrows(RedisStoreException.class, w::flush);
      assertFalse(e instanceof RedisWriteException);
      assertTrue(e.getMessage().contains("WRONGPASS"), e.getMessage());
      assertFalse(e.getMessage().contains("not-the-password"));
      assertEquals(List.of(), rec.retries); // a configuration error, not retried
      assertTrue(w.isPending("uA")); // still staged
      assertThrows(RedisStoreException.class, () -> w.readProfile("uA"));
    }
  }
}
