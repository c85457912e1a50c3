package io.userpulse.flink.redis;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import redis.clients.jedis.exceptions.JedisAskDataException;
import redis.clients.jedis.exceptions.JedisClusterOperationException;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisMovedDataException;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * Which Redis errors the writer retries (design section 5): a lost connection or a timeout, and
 * the transient server states that mean "slow", not "wrong" (OOM under {@code noeviction},
 * LOADING, BUSY, MASTERDOWN, READONLY after a failover, TRYAGAIN, CLUSTERDOWN), plus MOVED on a
 * cluster. Everything else (WRONGTYPE, NOPERM, ERR ...) is a per-user failure.
 */
public final class RedisErrors {

  /** Error codes (first word of the reply) of transient server states. */
  static final Set<String> TRANSIENT = Set.of(
      "OOM", "LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN",
      "NOREPLICAS");

  /** Redis 6 wraps errors raised inside a script: {@code ERR Error running script ...: CODE}. */
  private static final Pattern SCRIPT_ERROR = Pattern.compile("@user_script: ?\\d+: -?([A-Z]+) ");

  private RedisErrors() {}

  /** The error code of a Redis error reply: its first word, or the code a script error wraps. */
  static String code(JedisDataException e) {
    String msg = e.getMessage() == null ? "" : e.getMessage();
    int sp = msg.indexOf(' ');
    String first = sp < 0 ? msg : msg.substring(0, sp);
    if (first.equals("ERR") && msg.startsWith("ERR Error running script")) {
      Matcher m = SCRIPT_ERROR.matcher(msg);
      if (m.find()) {
        return m.group(1);
      }
    }
    return first;
  }

  /**
   * A short name of why a Redis call is retried, for a metric label: the error code of a
   * transient reply ({@code OOM}, {@code LOADING}, ...), {@code MOVED}, {@code ASK}, {@code
   * connection} (lost, refused or timed out), {@code cluster} (a slot no node serves) or {@code
   * other}.
   */
  public static String state(Exception e) {
    if (e instanceof JedisMovedDataException) {
      return "MOVED";
    }
    if (e instanceof JedisAskDataException) {
      return "ASK";
    }
    if (e instanceof JedisConnectionException) {
      return "connection";
    }
    if (e instanceof JedisClusterOperationException) {
      return "cluster";
    }
    if (e instanceof JedisNoScriptException) {
      return "NOSCRIPT";
    }
    if (e instanceof JedisDataException d && isTransient(d)) {
      return code(d);
    }
    return "other";
  }

  /** Whether {@code e} is a transient server state (see {@link #TRANSIENT}). */
  static boolean isTransient(JedisDataException e) {
    return TRANSIENT.contains(code(e));
  }

  /**
   * Whether {@code e} is worth retrying after a backoff: a lost connection or timeout, a
   * transient state, a redirection (MOVED, or an ASK that could not be followed) or a slot no
   * node serves in the slot map.
   */
  static boolean isRetryable(RuntimeException e) {
    return e instanceof JedisConnectionException
        || e instanceof JedisClusterOperationException // a slot no node serves (yet)
        || e instanceof JedisMovedDataException
        || e instanceof JedisAskDataException
        || (e instanceof JedisDataException d && !(d instanceof JedisNoScriptException)
            && isTransient(d));
  }
}
