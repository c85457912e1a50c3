package io.userpulse.flink.redis;

import java.util.ArrayList;
import java.util.List;

/** Tile and profile stand-ins and recording hooks shared by the writer tests. */
final class Fixtures {

  /** 2024-06-01T12:00:00Z in UTC epoch ms: aligned to every tile size up to 1 h. */
  static final long T0 = 1717243200000L;
  /** The ACL rules of the job role, as in {@code userpulse/redis_acl.py} (RULES["job"]). */
  static final String JOB_RULES = "resetkeys ~up:v1:* resetchannels -@all +auth +hello +select "
      + "+client|setname +ping +readonly +cluster|slots +cluster|shards +command +asking +hset "
      + "+hmget +hget +hgetall +hdel +get +set +exists +expire +evalsha +eval +script|load "
      + "+script|exists +info";

  private Fixtures() {}

  /** A tile: its version {@code n} and the rest of its stored value. */
  record Tile(long n, String rest) {
    String encode() {
      return n + ";" + rest;
    }
  }

  /** A profile: its version and JSON. */
  record Profile(long version, String json) {}

  /** Records retries and sleeps; the sleeps do not wait unless {@code realSleep}. */
  static final class Recorder implements WriterListener, RetryPolicy.Sleeper {
    final List<Exception> retries = new ArrayList<>();
    final List<Long> sleeps = new ArrayList<>();
    final List<Integer> flushedUsers = new ArrayList<>();
    boolean realSleep;
    int maxSleeps = 100;
    /** Called on each retry (after recording it); may change the servers. */
    ThrowingConsumer onRetry = e -> {};

    @Override
    public void onRetry(Exception cause) {
      retries.add(cause);
      try {
        onRetry.accept(cause);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void onFlush(long nanos, int users) {
      flushedUsers.add(users);
    }

    @Override
    public void sleep(long ms) throws InterruptedException {
      sleeps.add(ms);
      if (sleeps.size() > maxSleeps) { // a test that would retry forever: stop the flush
        throw new InterruptedException("more than " + maxSleeps + " retries: " + retries);
      }
      if (realSleep) {
        Thread.sleep(ms);
      }
    }

    RetryPolicy policy() {
      return new RetryPolicy(50, 5_000, this);
    }
  }

  /** A consumer that may throw (test hooks that restart servers). */
  @FunctionalInterface
  interface ThrowingConsumer {
    void accept(Exception e) throws Exception;
  }

  /** A writer of {@link Tile} / {@link Profile} with prefix {@code up:v1}. */
  static TileWriter<Tile, Profile> writer(RedisConfig config, long ttlS, long profileTtlS,
      Recorder recorder) {
    return new TileWriter<>(config, RedisLayout.PREFIX, ttlS, profileTtlS, TextAppender.of(Tile::encode),
        Profile::version, TextAppender.of(Profile::json), recorder.policy(), recorder);
  }

  /** {@code up:v1:{user}} for test users without escaped characters. */
  static String key(String user) {
    return RedisLayout.userKey(RedisLayout.PREFIX, user);
  }

  /** {@code up:v1:{user}:p}. */
  static String pkey(String user) {
    return RedisLayout.profileKey(RedisLayout.PREFIX, user);
  }
}
