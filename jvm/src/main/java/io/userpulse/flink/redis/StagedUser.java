package io.userpulse.flink.redis;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Function;
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
   * profile now.
   */
  @SuppressWarnings("unchecked")
  void appendArgv(CommandArguments a, byte[] ttlS, byte[] profileTtlS, Function<T, String> encoder,
      ToLongFunction<P> version, Function<P, String> json, byte[] generation) {
    a.add(ttlS);
    a.add(lastSeenMs == NONE ? EMPTY : RedisLayout.ascii(lastSeenMs));
    a.add(profileTtlS);
    a.add(profile == null
        ? EMPTY : RedisLayout.profileValueBytes(version.applyAsLong(profile), json.apply(profile)));
    a.add(RedisLayout.ascii(nTiles));
    for (int i = 0; i < nTiles; i++) {
      a.add(RedisLayout.tileFieldBytes(tileMs[i], tileIdx[i]));
      a.add(encoder.apply((T) tiles[i]).getBytes(StandardCharsets.UTF_8));
    }
    a.add(RedisLayout.ascii(nDel));
    for (int i = 0; i < nDel; i++) {
      a.add(RedisLayout.tileFieldBytes(delMs[i], delIdx[i]));
    }
    a.add(RedisLayout.ascii(nPruned));
    for (int i = 0; i < nPruned; i++) {
      a.add(RedisLayout.prunedFieldBytes(prunedMs[i]));
      a.add(RedisLayout.ascii(prunedIdx[i]));
    }
    a.add(RedisLayout.ascii(nPm));
    if (nPm > 0) {
      a.add(RedisLayout.premergedMeta(pmEvents, pmAsOfMs).getBytes(StandardCharsets.US_ASCII));
      for (int i = 0; i < nPm; i++) {
        a.add(RedisLayout.premergedField(pmWindowMs[i]).getBytes(StandardCharsets.US_ASCII));
        a.add(RedisLayout.premergedValue(pmUntilMs[i], encoder.apply((T) pmTiles[i]))
            .getBytes(StandardCharsets.UTF_8));
      }
    }
    a.add(expectKeys ? EXPECT_KEYS : EXPECT_NOTHING);
    a.add(generation);
  }
}
