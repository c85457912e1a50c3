package io.userpulse.flink.redis;

/**
 * A user's profile as stored, read back by {@link TileWriter#readProfile(String)}.
 *
 * @param json the profile JSON (the text after the {@code <version>;} prefix), or null when the
 *     profile key does not exist
 * @param hashExists whether the user's tile hash exists (false: it expired or was never written)
 */
public record StoredProfile(String json, boolean hashExists) {}
