package io.userpulse.flink.redis;

/**
 * Root of the exceptions of this package: Redis refused something the writer cannot retry (a
 * wrong password, a missing ACL permission, a stored value that is not layout v1, unreadable
 * TLS files), or a flush was interrupted. Transient states (connection lost, timeouts, LOADING,
 * BUSY, ...) are never thrown: the writer retries them.
 */
public class RedisStoreException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** An error with a message (never containing a password). */
  public RedisStoreException(String message) {
    super(message);
  }

  /** An error with a message (never containing a password) and its cause. */
  public RedisStoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
