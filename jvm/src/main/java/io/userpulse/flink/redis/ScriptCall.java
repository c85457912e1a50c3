package io.userpulse.flink.redis;

import java.nio.charset.StandardCharsets;
import redis.clients.jedis.CommandArguments;

/**
 * One user's write of a flush: the whole {@code EVALSHA} (built once, resent as is), the user's
 * slot (for cluster routing) and its position in the batch.
 */
final class ScriptCall {

  final String user;
  final byte[] key;
  final byte[] profileKey;
  final int slot;
  final CommandArguments evalsha;

  ScriptCall(String user, byte[] key, byte[] profileKey, CommandArguments evalsha) {
    this.user = user;
    this.key = key;
    this.profileKey = profileKey;
    this.slot = RedisLayout.keySlot(key);
    this.evalsha = evalsha;
  }

  /** The failure record of this call refused with {@code error}. */
  WriteFailure failure(String error) {
    return new WriteFailure(user, new String(key, StandardCharsets.UTF_8),
        new String(profileKey, StandardCharsets.UTF_8), error);
  }
}
