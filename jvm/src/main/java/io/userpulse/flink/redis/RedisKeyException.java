package io.userpulse.flink.redis;

/**
 * Redis refused a command on one user's key for good (an error reply that is not a transient
 * server state: WRONGTYPE, NOPERM on the key, ...), or the stored value is not layout v1. Only
 * that user is concerned: the caller reports it (dead-letter record, counter) and goes on.
 */
public final class RedisKeyException extends RedisStoreException {

  private static final long serialVersionUID = 1L;

  private final String user;
  private final String key;
  private final String error;

  /**
   * @param user the user id
   * @param key the key Redis refused (or whose value is not layout v1)
   * @param error the Redis error reply or what is wrong with the value
   * @param cause the underlying exception
   */
  public RedisKeyException(String user, String key, String error, Throwable cause) {
    super("user " + user + " (" + key + "): " + error, cause);
    this.user = user;
    this.key = key;
    this.error = error;
  }

  /** The user id. */
  public String user() {
    return user;
  }

  /** The key concerned. */
  public String key() {
    return key;
  }

  /** The Redis error reply, or what is wrong with the stored value. */
  public String error() {
    return error;
  }
}
