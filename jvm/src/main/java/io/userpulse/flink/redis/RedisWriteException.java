package io.userpulse.flink.redis;

import java.util.List;
import java.util.Map;

/**
 * Redis refused the writes of some users of a flush (WRONGTYPE or another per-key error); the
 * other users of the batch were written before this was thrown. Carries both, so a caller can
 * acknowledge the written users and dead-letter the failed ones ({@link #result()}).
 */
public class RedisWriteException extends RedisStoreException {

  private static final long serialVersionUID = 1L;

  private final transient FlushResult result;

  /**
   * @param result the flush's result; {@code result.failures()} must not be empty
   */
  public RedisWriteException(FlushResult result) {
    super(message(result.failures()));
    this.result = result;
  }

  /** The flush's result: users written and the failures. */
  public FlushResult result() {
    return result;
  }

  /** The refused writes (user, keys, Redis error). */
  public List<WriteFailure> failures() {
    return result.failures();
  }

  /** The users written by the same flush (user id -&gt; newest staged event time ms or null). */
  public Map<String, Long> written() {
    return result.written();
  }

  private static String message(List<WriteFailure> failures) {
    StringBuilder sb = new StringBuilder();
    sb.append("Redis refused the write of ").append(failures.size()).append(" user(s): ");
    int shown = Math.min(failures.size(), 5);
    for (int i = 0; i < shown; i++) {
      sb.append(i == 0 ? "" : "; ").append(failures.get(i));
    }
    if (shown < failures.size()) {
      sb.append("; ...");
    }
    return sb.toString();
  }
}
