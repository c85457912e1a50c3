package io.userpulse.flink.redis;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.TreeSet;

/**
 * The Redis key layout of the online store, version 1: the JVM twin of {@code userpulse/layout.py}
 * (written down in {@code docs/key-layout.md}; golden tests pin both to the same bytes).
 *
 * <pre>
 *   &lt;prefix&gt;:{&lt;tag&gt;}     hash   t:&lt;tile_ms&gt;:&lt;k&gt; -&gt; tile value; ls -&gt; last seen (UTC epoch ms);
 *                                p:&lt;tile_ms&gt; -&gt; highest tile index pruned so far
 *   &lt;prefix&gt;:{&lt;tag&gt;}:p   string &lt;version&gt;;&lt;profile JSON&gt;
 * </pre>
 *
 * <p>{@code <prefix>} is {@link #PREFIX} ({@code up:v1}) in production; {@code <tag>} is the user
 * id with {@code %}, <code>{</code> and <code>}</code> percent-escaped ({@link #userTag}), so both
 * keys of a user carry the same, well-formed Redis Cluster hash tag (one slot). Keys are UTF-8.
 *
 * <p>The byte-level variants (package-private) build the writer's arguments without intermediate
 * strings; they produce the same bytes as the UTF-8 encoding of the string variants.
 */
public final class RedisLayout {

  /** Version of this layout, carried by the prefix. */
  public static final int LAYOUT_VERSION = 1;
  /** The key prefix of layout v1: {@code up:v1}. */
  public static final String PREFIX = "up:v" + LAYOUT_VERSION;
  /** Field of the tile hash holding the newest event time seen (UTC epoch ms). */
  public static final String META_LAST_SEEN = "ls";
  /** Field of the tile hash holding the store generation the user was last written in full
   * under (or since); see {@link #generationKey}. */
  public static final String META_GENERATION = "g";
  // The profile document (the JSON after "<version>;" in the profile key): the same names as
  // userpulse/layout.py PROFILE_*; RedisLayoutVectorsTest checks them against
  // vectors/layout.json, which Python generates from that module.
  /** Profile document: lifetime events per event type name. */
  public static final String PROFILE_COUNTS = "c";
  /** Profile document: oldest event time, UTC epoch ms (null before any event). */
  public static final String PROFILE_FIRST_SEEN = "fs";
  /** Profile document: newest event time, UTC epoch ms (null before any event). */
  public static final String PROFILE_LAST_SEEN = "ls";
  /** Profile document: per event type name, the newest items, newest first. */
  public static final String PROFILE_LAST_K = "k";
  /** Profile document: the newest session {@code [start ms, end ms, events]} or null. */
  public static final String PROFILE_SESSION = "s";
  /** Profile document: events folded in (the write version). */
  public static final String PROFILE_VERSION = "v";
  /** Profile document: event id that revived the profile from {@link #PROFILE_BASE}. */
  public static final String PROFILE_REVIVED_BY = "rev";
  /** Profile document: the stored document it was revived from, or null. */
  public static final String PROFILE_BASE = "base";
  /** Number of Redis Cluster hash slots. */
  public static final int SLOTS = 16384;

  private static final byte[][] SMALL = new byte[1024][];

  static {
    for (int i = 0; i < SMALL.length; i++) {
      SMALL[i] = Integer.toString(i).getBytes(StandardCharsets.US_ASCII);
    }
  }

  private RedisLayout() {}

  /**
   * The user id as it appears inside the hash tag: {@code %}, <code>{</code>, <code>}</code>
   * replaced by {@code %25}, {@code %7B}, {@code %7D} (in that order of precedence, like
   * {@code userpulse.layout.user_tag}).
   *
   * @param userId the user id (any string)
   * @return the escaped tag
   */
  public static String userTag(String userId) {
    if (!needsEscape(userId)) {
      return userId;
    }
    StringBuilder sb = new StringBuilder(userId.length() + 8);
    for (int i = 0; i < userId.length(); i++) {
      char c = userId.charAt(i);
      switch (c) {
        case '%' -> sb.append("%25");
        case '{' -> sb.append("%7B");
        case '}' -> sb.append("%7D");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }

  private static boolean needsEscape(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%' || c == '{' || c == '}') {
        return true;
      }
    }
    return false;
  }

  /**
   * The user's tile hash: <code>&lt;prefix&gt;:{&lt;tag&gt;}</code>, e.g. <code>up:v1:{u1}</code>.
   *
   * @param prefix the key prefix, {@link #PREFIX} in production
   * @param userId the user id
   */
  public static String userKey(String prefix, String userId) {
    return prefix + ":{" + userTag(userId) + "}";
  }

  /**
   * The user's profile string: <code>&lt;prefix&gt;:{&lt;tag&gt;}:p</code> (same slot as {@link
   * #userKey}).
   */
  public static String profileKey(String prefix, String userId) {
    return userKey(prefix, userId) + ":p";
  }

  /**
   * The store generation marker: {@code <prefix>:gen} (a string holding a decimal integer &gt;
   * 0), raised by the job each time it finds the store lost data. A user whose hash field
   * {@link #META_GENERATION} is below it has not been rewritten since (lookups say {@code
   * rewriting}).
   */
  public static String generationKey(String prefix) {
    return prefix + ":gen";
  }

  /**
   * The run id of the Redis server the job last confirmed the generation marker on: {@code
   * <prefix>:run} (a string, the server's {@code INFO server} {@code run_id}; on a Redis Cluster
   * the {@code run_id} of every primary, {@link #runRecord}), written by the job
   * after it raised the marker for a restart. A lookup whose server's {@code run_id} differs
   * (Redis restarted, the job has not noticed yet) answers {@code rewriting} (docs/key-layout.md,
   * "Store generation").
   */
  public static String runKey(String prefix) {
    return prefix + ":run";
  }

  /** Separator of the run ids in {@link #runKey} ({@code userpulse/layout.py} RUN_SEP). */
  public static final String RUN_SEP = ",";

  /**
   * The value of {@link #runKey} for a store whose server(s) have {@code runIds} (one server:
   * its {@code run_id}; a Redis Cluster: the {@code run_id} of every primary): the distinct ids
   * sorted, joined by {@link #RUN_SEP} ({@code userpulse/layout.py} run_record).
   *
   * @param runIds {@code run_id}s (40 hex characters each), in any order
   */
  public static String runRecord(Collection<String> runIds) {
    return String.join(RUN_SEP, new TreeSet<>(runIds));
  }

  /** Field of tile {@code index} of size {@code tileMs} (ms): {@code t:<tileMs>:<index>}. */
  public static String tileField(long tileMs, long index) {
    return "t:" + tileMs + ":" + index;
  }

  /** Field of the highest pruned tile index of size {@code tileMs} (ms): {@code p:<tileMs>}. */
  public static String prunedField(long tileMs) {
    return "p:" + tileMs;
  }

  /**
   * Field of the tile hash holding the version of the pre-merged window fields: {@code
   * <events>;<as_of_ms>} ({@link #premergedMeta}); a write replaces them only with a larger
   * {@code (events, as_of_ms)} (docs/key-layout.md).
   */
  public static final String META_PREMERGED = "m";

  /** Field of window {@code windowMs}'s tiles merged as of T: {@code w:<windowMs>}. */
  public static String premergedField(long windowMs) {
    return "w:" + windowMs;
  }

  /** The value of {@link #META_PREMERGED}: {@code <events>;<asOfMs>}. */
  public static String premergedMeta(long events, long asOfMs) {
    return events + ";" + asOfMs;
  }

  /**
   * The value of a {@link #premergedField}: {@code <validUntilMs>;<tile value>}, the validity
   * empty when it has no bound.
   *
   * @param validUntilMs UTC epoch ms, or {@code Long.MIN_VALUE} for no bound
   * @param tile the merged tile's v1 value
   */
  public static String premergedValue(long validUntilMs, String tile) {
    return (validUntilMs == Long.MIN_VALUE ? "" : Long.toString(validUntilMs)) + ";" + tile;
  }

  /** The stored profile value: {@code <version>;<json>}. */
  public static String encodeProfile(long version, String json) {
    return version + ";" + json;
  }

  /**
   * The JSON text of a stored profile value (inverse of {@link #encodeProfile}).
   *
   * @param raw the stored bytes (UTF-8)
   * @throws IllegalArgumentException no {@code <digits>;} prefix (not a v1 profile value)
   */
  public static String decodeProfileJson(byte[] raw) {
    int i = 0;
    while (i < raw.length && raw[i] >= '0' && raw[i] <= '9') {
      i++;
    }
    if (i == 0 || i >= raw.length || raw[i] != ';') {
      String head = new String(raw, 0, Math.min(raw.length, 40), StandardCharsets.UTF_8);
      throw new IllegalArgumentException("not a v1 profile value: '" + head + "'");
    }
    return new String(raw, i + 1, raw.length - i - 1, StandardCharsets.UTF_8);
  }

  /**
   * The Redis Cluster hash slot of {@code key} (UTF-8): CRC16-XMODEM of its hash tag (the part
   * between the first <code>{</code> and the first <code>}</code> after it, when non-empty; else
   * the whole key) mod 16384. Source: Redis Cluster specification, "Keys distribution model".
   */
  public static int keySlot(String key) {
    return keySlot(key.getBytes(StandardCharsets.UTF_8));
  }

  /** {@link #keySlot(String)} of a key given as bytes. */
  static int keySlot(byte[] key) {
    int from = 0;
    int to = key.length;
    for (int s = 0; s < key.length; s++) {
      if (key[s] == '{') {
        for (int e = s + 1; e < key.length; e++) {
          if (key[e] == '}') {
            if (e > s + 1) {
              from = s + 1;
              to = e;
            }
            break;
          }
        }
        break;
      }
    }
    return Crc16.xmodem(key, from, to) & (SLOTS - 1);
  }

  // ---- byte-level builders used by the writer (same bytes as the UTF-8 of the strings) ----

  /** UTF-8 of {@link #userKey}. */
  static byte[] userKeyBytes(String prefix, String userId) {
    return userKey(prefix, userId).getBytes(StandardCharsets.UTF_8);
  }

  /** {@code key} followed by {@code :p}: the profile key of the user whose hash is {@code key}. */
  static byte[] profileKeyBytes(byte[] userKey) {
    byte[] out = new byte[userKey.length + 2];
    System.arraycopy(userKey, 0, out, 0, userKey.length);
    out[userKey.length] = ':';
    out[userKey.length + 1] = 'p';
    return out;
  }

  /** ASCII decimal of {@code v} (shared arrays for 0..1023: do not modify the result). */
  static byte[] ascii(long v) {
    if (v >= 0 && v < SMALL.length) {
      return SMALL[(int) v];
    }
    byte[] out = new byte[digits(v)];
    writeDecimal(out, out.length, v);
    return out;
  }

  /** UTF-8 of {@link #tileField}. */
  static byte[] tileFieldBytes(long tileMs, long index) {
    int dg = digits(tileMs);
    int dk = digits(index);
    byte[] out = new byte[2 + dg + 1 + dk];
    out[0] = 't';
    out[1] = ':';
    writeDecimal(out, 2 + dg, tileMs);
    out[2 + dg] = ':';
    writeDecimal(out, out.length, index);
    return out;
  }

  /** UTF-8 of {@link #prunedField}. */
  static byte[] prunedFieldBytes(long tileMs) {
    byte[] out = new byte[2 + digits(tileMs)];
    out[0] = 'p';
    out[1] = ':';
    writeDecimal(out, out.length, tileMs);
    return out;
  }

  private static int digits(long v) {
    if (v < 0) {
      return v == Long.MIN_VALUE ? 20 : 1 + digits(-v);
    }
    int n = 1;
    for (long x = v; x >= 10; x /= 10) {
      n++;
    }
    return n;
  }

  /** Writes the decimal of {@code v} so that its last digit is at {@code end - 1}. */
  private static void writeDecimal(byte[] out, int end, long v) {
    if (v < 0) {
      byte[] s = Long.toString(v).getBytes(StandardCharsets.US_ASCII);
      System.arraycopy(s, 0, out, end - s.length, s.length);
      return;
    }
    int i = end;
    do {
      out[--i] = (byte) ('0' + (v % 10));
      v /= 10;
    } while (v != 0);
  }
}
