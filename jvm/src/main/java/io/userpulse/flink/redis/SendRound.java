package io.userpulse.flink.redis;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.exceptions.JedisAskDataException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisMovedDataException;
import redis.clients.jedis.exceptions.JedisNoScriptException;
import redis.clients.jedis.exceptions.JedisRedirectionException;

/**
 * The outcome of one send of a flush's remaining calls: which calls to send again, why, which
 * were refused for good, and the ASK redirections still to follow within the same send.
 */
final class SendRound {

  /** Calls not applied yet (to resend), in the order they were met. */
  final List<ScriptCall> retry = new ArrayList<>();
  /** The flush's refused writes (shared by all rounds of a flush). */
  final List<WriteFailure> failures;
  /** Users whose partial write found their keys gone (nothing written; shared by all rounds). */
  final List<String> missing;
  private final boolean cluster;
  /** ASK targets and the calls to resend there with ASKING (cluster only); null when none. */
  Map<HostAndPort, List<ScriptCall>> asked;
  /** First retryable error of the round (for the backoff and the listener); null if none. */
  RuntimeException cause;
  /** A NOSCRIPT of the round (the script is loaded and the calls resent at once). */
  RuntimeException noScript;
  /** A non-retryable error not tied to one user (SCRIPT LOAD refused, wrong server kind). */
  RedisStoreException fatal;

  SendRound(List<WriteFailure> failures, List<String> missing, boolean cluster) {
    this.failures = failures;
    this.missing = missing;
    this.cluster = cluster;
  }

  /** {@code call} was not applied because of {@code e} (retryable): send it again. */
  void retry(ScriptCall call, RuntimeException e) {
    retry.add(call);
    if (cause == null) {
      cause = e;
    }
  }

  /**
   * Sorts the error reply {@code e} of {@code call}, sent to {@code node} ({@code asking}: as
   * the target of an ASK): NOSCRIPT and retryable errors resend it, ASK queues it for its target,
   * anything else is a failure of the user.
   */
  void error(RedisNode node, ScriptCall call, JedisDataException e, boolean asking) {
    if (e instanceof JedisNoScriptException) {
      node.scriptLoaded = false;
      retry.add(call);
      noScript = e;
    } else if (e instanceof JedisRedirectionException && !cluster) {
      fatal("Redis at " + node + " is a cluster node (" + e.getMessage()
          + "): configure cluster=true");
      retry.add(call);
    } else if (e instanceof JedisAskDataException a && !asking) {
      if (asked == null) {
        asked = new LinkedHashMap<>();
      }
      asked.computeIfAbsent(a.getTargetNode(), k -> new ArrayList<>()).add(call);
    } else if (e instanceof JedisMovedDataException || RedisErrors.isRetryable(e)) {
      retry(call, e);
    } else {
      failures.add(call.failure(e.getMessage()));
    }
  }

  /** Records a non-retryable error of the round (the first one is kept). */
  void fatal(String message) {
    if (fatal == null) {
      fatal = new RedisStoreException(message);
    }
  }
}
