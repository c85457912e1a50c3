package io.userpulse.flink.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Protocol;

/**
 * The write script of layout v1 ({@code write_v1.lua}, next to this class).
 *
 * <p>KEYS: the user's tile hash, the user's profile key (same slot). ARGV: {@code ttl_s},
 * {@code last_seen_ms} (or empty), {@code profile_ttl_s}, the profile value {@code
 * <version>;<json>} (or empty), {@code n_set}, (field, value) &times; n_set, {@code n_del},
 * field &times; n_del, {@code n_pruned}, (pruned field, index) &times; n_pruned, {@code n_windows}
 * and, when it is &gt; 0, the pre-merged version {@code <events>;<as_of_ms>} and (window field,
 * value) &times; n_windows (written together, and only when the version is larger than the stored
 * {@code m}: more events, or as many and a later T), {@code expect}
 * ({@code 1}: the write holds only part of the user, apply it only if both keys exist), {@code
 * generation} (the store generation to record in the hash field {@code g}, or empty). It keeps a
 * stored tile (and profile) unless the new one has a larger leading version, keeps {@code ls} and
 * {@code g} as maxima, raises the {@code p:} marks, and refreshes the TTL of both keys; returns
 * the number of hash fields set, or -1 (nothing written) when {@code expect} is 1 and a key is
 * missing: the store lost the user (restart, eviction, {@code FLUSHDB}; docs/key-layout.md).
 */
final class WriteScript {

  /** Resource name of the script, next to this class. */
  static final String RESOURCE = "write_v1.lua";
  /** The script source. */
  static final String SOURCE = load();
  /** Its SHA1 in lower-case hex (what SCRIPT LOAD returns and EVALSHA takes). */
  static final String SHA1 = sha1(SOURCE);

  private static final byte[] SHA1_BYTES = SHA1.getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TWO_KEYS = {'2'};

  private WriteScript() {}

  /** {@code SCRIPT LOAD <source>} (a new argument list: Jedis arguments are not shared). */
  static CommandArguments loadCommand() {
    return new CommandArguments(Protocol.Command.SCRIPT).add("LOAD").add(SOURCE);
  }

  /**
   * {@code EVALSHA <sha> 2 <key> <profileKey>}, to which the caller adds ARGV; the key arrays
   * are kept, not copied ({@link OwnedArg}).
   */
  static CommandArguments evalsha(byte[] key, byte[] profileKey) {
    CommandArguments a = new CommandArguments(Protocol.Command.EVALSHA);
    OwnedArg.add(a, SHA1_BYTES);
    OwnedArg.add(a, TWO_KEYS);
    OwnedArg.add(a, key);
    return OwnedArg.add(a, profileKey);
  }

  private static String load() {
    try (InputStream in = WriteScript.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("resource " + RESOURCE + " missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String sha1(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-1").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
