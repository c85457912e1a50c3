package io.userpulse.flink.redis;

/**
 * One user's write that Redis refused (not retryable: WRONGTYPE, NOPERM on a key, a script
 * error): what a dead-letter record needs. The write script touches both keys of the user, so
 * the error may concern either; {@code key} is the tile hash, {@code profileKey} the profile.
 *
 * @param user the user id
 * @param key the user's tile hash key
 * @param profileKey the user's profile key
 * @param error the Redis error reply (e.g. {@code WRONGTYPE Operation against a key ...})
 */
public record WriteFailure(String user, String key, String profileKey, String error) {

  /** {@code user=..., key=..., error=...} for logs and exception messages. */
  @Override
  public String toString() {
    return "user=" + user + ", key=" + key + ", error=" + error;
  }
}
