package io.userpulse.flink.redis;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.ToLongFunction;
import redis.clients.jedis.CommandArguments;

/**
 * What is staged for one user until the next flush: tiles (newest staged wins, encoded only at
 * flush), tile deletions, pruned-up-to marks, last seen (max), the profile and the pre-merged
 * window values (newest staged wins). Small parallel
 * arrays searched linearly (a user stages a handful of tiles per flush); reused after a flush.
 */
final class StagedUser<T, P> {

  static final long NONE = Long.MIN_VALUE;
  private static final byte[] EMPTY = new byte[0];
  private static final byte[] EXPECT_KEYS = {'1'};
  private static final byte[] EXPECT_NOTHING = {'0'};

  long lastSeenMs = NONE;
  P profile;
  /** Only part of what the job holds of the user is staged: the write applies only if both of
   * the user's keys still exist, else the script answers -1 (see {@link WriteScript}). */
  boolean expectKeys;
  /** Everything the job holds of the user is staged in this flush cycle. */
  boolean full;
  private int nTiles;
  private long[] tileMs = new long[4];
  private long[] tileIdx = new long[4];
  private Object[] tiles = new Object[4];
  private int nDel;
  private long[] delMs = new long[2];
  private long[] delIdx = new long[2];
  private int nPruned;
  private long[] prunedMs = new long[2];
  private long[] prunedIdx = new long[2];
  private int nPm;
  private long pmEvents;
  private long pmAsOfMs;
  private long[] pmWindowMs = new long[0];
  private long[] pmUntilMs = new long[0];
  private Object[] pmTiles = new Object[0];

  /** Stage the pre-merged window values (replacing any staged before; arrays are copied). */
  void premerged(long events, long asOfMs, long[] windowMs, long[] validUntilMs, T[] merged) {
    int n = windowMs.length;
    if (pmWindowMs.length < n) {
      pmWindowMs = new long[n];
      pmUntilMs = new long[n];
      pmTiles = new Object[n];
    }
    System.arraycopy(windowMs, 0, pmWindowMs, 0, n);
    System.arraycopy(validUntilMs, 0, pmUntilMs, 0, n);
    System.arraycopy(merged, 0, pmTiles, 0, n);
    nPm = n;
    pmEvents = events;
    pmAsOfMs = asOfMs;
  }

  void tile(long g, long k, T value) {
    for (int i = 0; i < nTiles; i++) {
      if (tileMs[i] == g && tileIdx[i] == k) {
        tiles[i] = value;
        return;
      }
    }
    if (nTiles == tileMs.length) {
      tileMs = Arrays.copyOf(tileMs, nTiles * 2);
      tileIdx = Arrays.copyOf(tileIdx, nTiles * 2);
      tiles = Arrays.copyOf(tiles, nTiles * 2);
    }
    tileMs[nTiles] = g;
    tileIdx[nTiles] = k;
    tiles[nTiles++] = value;
  }

  void lastSeen(long eventTimeMs) {
    if (lastSeenMs == NONE || eventTimeMs > lastSeenMs) {
      lastSeenMs = eventTimeMs;
    }
  }

  void prunedMark(long g, long k) {
    for (int i = 0; i < nPruned; i++) {
      if (prunedMs[i] == g) {
        prunedIdx[i] = Math.max(prunedIdx[i], k);
        return;
      }
    }
    if (nPruned == prunedMs.length) {
      prunedMs = Arrays.copyOf(prunedMs, nPruned * 2);
      prunedIdx = Arrays.copyOf(prunedIdx, nPruned * 2);
    }
    prunedMs[nPruned] = g;
    prunedIdx[nPruned++] = k;
  }

  /** Stage deletion of tile {@code (g, k)}: dropped from the staged tiles, HDEL at flush. */
  void delete(long g, long k) {
    for (int i = 0; i < nTiles; i++) {
      if (tileMs[i] == g && tileIdx[i] == k) {
        nTiles--;
        tileMs[i] = tileMs[nTiles];
        tileIdx[i] = tileIdx[nTiles];
        tiles[i] = tiles[nTiles];
        tiles[nTiles] = null;
        break;
      }
    }
    for (int i = 0; i < nDel; i++) {
      if (delMs[i] == g && delIdx[i] == k) {
        return;
      }
    }
    if (nDel == delMs.length) {
      delMs = Arrays.copyOf(delMs, nDel * 2);
      delIdx = Arrays.copyOf(delIdx, nDel * 2);
    }
    delMs[nDel] = g;
    delIdx[nDel++] = k;
  }

  /** Forget everything (the object is reused for another user). */
  void reset() {
    Arrays.fill(tiles, 0, nTiles, null);
    nTiles = 0;
    nDel = 0;
    nPruned = 0;
    Arrays.fill(pmTiles, 0, nPm, null);
    nPm = 0;
    lastSeenMs = NONE;
    profile = null;
    expectKeys = false;
    full = false;
  }

  /**
   * Appends the script's ARGV (see {@link WriteScript}) to {@code a}, encoding tiles and the
   * profile now, each through {@code text} (reused: cleared before each value); Jedis keeps the
   * arrays without copying them ({@link OwnedArg}).
   */
  @SuppressWarnings("unchecked")
  void appendArgv(CommandArguments a, byte[] ttlS, byte[] profileTtlS, TextAppender<T> encoder,
      ToLongFunction<P> version, TextAppender<P> json, byte[] generation, TextBytes text) {
    OwnedArg.add(a, ttlS);
    OwnedArg.add(a, lastSeenMs == NONE ? EMPTY : RedisLayout.ascii(lastSeenMs));
    OwnedArg.add(a, profileTtlS);
    if (profile == null) {
      OwnedArg.add(a, EMPTY);
    } else {
      json.appendTo(text.clear().append(version.applyAsLong(profile)).append(';'), profile);
      OwnedArg.add(a, text.bytes());
    }
    OwnedArg.add(a, RedisLayout.ascii(nTiles));
    for (int i = 0; i < nTiles; i++) {
      OwnedArg.add(a, RedisLayout.tileFieldBytes(tileMs[i], tileIdx[i]));
      OwnedArg.add(a, encode(text, encoder, (T) tiles[i]));
    }
    OwnedArg.add(a, RedisLayout.ascii(nDel));
    for (int i = 0; i < nDel; i++) {
      OwnedArg.add(a, RedisLayout.tileFieldBytes(delMs[i], delIdx[i]));
    }
    OwnedArg.add(a, RedisLayout.ascii(nPruned));
    for (int i = 0; i < nPruned; i++) {
      OwnedArg.add(a, RedisLayout.prunedFieldBytes(prunedMs[i]));
      OwnedArg.add(a, RedisLayout.ascii(prunedIdx[i]));
    }
    OwnedArg.add(a, RedisLayout.ascii(nPm));
    if (nPm > 0) {
      OwnedArg.add(a, ascii(RedisLayout.premergedMeta(pmEvents, pmAsOfMs)));
      for (int i = 0; i < nPm; i++) {
        OwnedArg.add(a, ascii(RedisLayout.premergedField(pmWindowMs[i])));
        StringBuilder sb = text.clear();
        if (pmUntilMs[i] != Long.MIN_VALUE) {
          sb.append(pmUntilMs[i]);
        }
        encoder.appendTo(sb.append(';'), (T) pmTiles[i]); // RedisLayout.premergedValue
        OwnedArg.add(a, text.bytes());
      }
    }
    OwnedArg.add(a, expectKeys ? EXPECT_KEYS : EXPECT_NOTHING);
    OwnedArg.add(a, generation);
  }

  private static <V> byte[] encode(TextBytes text, TextAppender<V> encoder, V value) {
    encoder.appendTo(text.clear(), value);
    return text.bytes();
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
