package io.userpulse.flink.redis;

import java.io.Serializable;

/**
 * Capped exponential backoff of the writer (like redis-py's {@code ExponentialBackoff} and the
 * Python writer: first delay {@code initialBackoffMs}, doubled after each retry up to {@code
 * maxBackoffMs}, retried without limit: Redis down means the job waits, events wait in Kafka).
 *
 * @param initialBackoffMs first delay in ms, &gt; 0
 * @param maxBackoffMs largest delay in ms, &gt;= initialBackoffMs
 * @param sleeper what sleeps; {@link Sleeper#REAL} ({@link Thread#sleep}) in production, a
 *     recording one in tests
 */
public record RetryPolicy(long initialBackoffMs, long maxBackoffMs, Sleeper sleeper)
    implements Serializable {

  /** The job's policy: 50 ms doubling up to 5 s, real sleeps. */
  public static final RetryPolicy DEFAULT = new RetryPolicy(50, 5_000, Sleeper.REAL);

  /**
   * @throws IllegalArgumentException a delay out of range or a null sleeper
   */
  public RetryPolicy {
    if (initialBackoffMs <= 0 || maxBackoffMs < initialBackoffMs) {
      throw new IllegalArgumentException("need 0 < initialBackoffMs <= maxBackoffMs, got "
          + initialBackoffMs + " and " + maxBackoffMs);
    }
    if (sleeper == null) {
      throw new IllegalArgumentException("sleeper must not be null");
    }
  }

  /** The delay after {@code delayMs}: doubled, capped at {@link #maxBackoffMs}. */
  public long next(long delayMs) {
    return Math.min(delayMs * 2, maxBackoffMs);
  }

  /** Sleeps between retries (injectable, so tests need not wait). */
  @FunctionalInterface
  public interface Sleeper extends Serializable {

    /** {@link Thread#sleep(long)}. */
    Sleeper REAL = Thread::sleep;

    /**
     * Sleeps {@code ms} milliseconds.
     *
     * @throws InterruptedException the thread was interrupted (the task is being cancelled)
     */
    void sleep(long ms) throws InterruptedException;
  }
}
