package io.userpulse.flink.redis;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Pipelined, coalesced, absolute (replay-safe) writes of tiles to Redis: the JVM twin of {@code
 * sinks/redis_writer.py}, writing the same bytes with the same script ({@link WriteScript}).
 *
 * <p>The job stages the current value of every tile an event touched; {@link #flush()} sends one
 * {@code EVALSHA} per user (all of that user's staged tiles, deletions, pruned marks, last seen
 * and profile) in one pipeline, or one per primary on a Redis Cluster. Values are encoded only at
 * flush, so many events of one user become one write. The script keeps a stored tile or profile
 * unless the staged one has a larger version, keeps {@code ls} as a maximum and refreshes both
 * TTLs.
 *
 * <p>Redis down or slow (a lost connection, a timeout, OOM, LOADING, BUSY, MASTERDOWN, READONLY,
 * TRYAGAIN, CLUSTERDOWN, MOVED): the flush backs off ({@link RetryPolicy}) and resends only the
 * calls not applied yet, until it succeeds; the caller blocks (Flink back-pressures). NOSCRIPT
 * loads the script and resends at once. A write Redis refuses for one user (WRONGTYPE, ...) does
 * not stop the others: {@link #flushAndReport()} returns it, {@link #flush()} throws it after the
 * batch was written. Not thread-safe: one writer per task, used from the task's thread.
 *
 * @param <T> the tile value type (encoded by the tile encoder)
 * @param <P> the profile type (its version and JSON taken by the given functions)
 */
public final class TileWriter<T, P> implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(TileWriter.class);
  /** Immediate resends after NOSCRIPT before going through the backoff. */
  private static final int MAX_QUICK_RESENDS = 3;

  private final Sender sender;
  private final String prefix;
  private final byte[] ttlS;
  private final byte[] profileTtlS;
  private final TextAppender<T> tileEncoder;
  private final ToLongFunction<P> profileVersion;
  private final TextAppender<P> profileJson;
  private final RetryPolicy retry;
  private final WriterListener listener;
  private final StagedWrites<T, P> staged = new StagedWrites<>();
  /** Every staged value's text passes through this one builder at flush (task thread only). */
  private final TextBytes text = new TextBytes(4096);
  private long retries;
  private long usersWritten;
  private byte[] generation = new byte[0];

  /**
   * A writer; connects on the first flush or read (no I/O here).
   *
   * @param config connection settings ({@code cluster()} selects the Redis Cluster routing)
   * @param prefix key prefix, {@link RedisLayout#PREFIX} in production
   * @param ttlS TTL of the tile hash in s, set on every write, &gt; 0
   * @param profileTtlS TTL of the profile key in s, set on every write, &gt; 0
   * @param tileEncoder appends a tile's stored value ({@code n;...}, its version {@code n} first)
   * @param profileVersion a profile's version (events folded in; the larger one is kept)
   * @param profileJson appends a profile's JSON
   * @param retry backoff of retries ({@link RetryPolicy#DEFAULT} in production)
   * @param listener metrics hooks ({@link WriterListener#NONE} for none)
   * @throws IllegalArgumentException a TTL &lt;= 0 or an empty prefix
   * @throws NullPointerException a null argument
   * @throws RedisStoreException TLS is on and its PEM files cannot be read
   */
  public TileWriter(RedisConfig config, String prefix, long ttlS, long profileTtlS,
      TextAppender<T> tileEncoder, ToLongFunction<P> profileVersion,
      TextAppender<P> profileJson, RetryPolicy retry, WriterListener listener) {
    if (ttlS <= 0 || profileTtlS <= 0) {
      throw new IllegalArgumentException(
          "ttlS and profileTtlS must be > 0, got " + ttlS + " and " + profileTtlS);
    }
    if (prefix == null || prefix.isEmpty()) {
      throw new IllegalArgumentException("prefix must not be empty");
    }
    this.prefix = prefix;
    this.ttlS = RedisLayout.ascii(ttlS);
    this.profileTtlS = RedisLayout.ascii(profileTtlS);
    this.tileEncoder = Objects.requireNonNull(tileEncoder, "tileEncoder");
    this.profileVersion = Objects.requireNonNull(profileVersion, "profileVersion");
    this.profileJson = Objects.requireNonNull(profileJson, "profileJson");
    this.retry = Objects.requireNonNull(retry, "retry");
    this.listener = Objects.requireNonNull(listener, "listener");
    RedisConnections connections = new RedisConnections(Objects.requireNonNull(config, "config"));
    this.sender = config.cluster() ? new ClusterSender(connections) : new ServerSender(connections);
  }

  /** Stages the absolute value of tile {@code index} of size {@code tileMs} (ms); newest wins. */
  public void stageTile(String user, long tileMs, long index, T tile) {
    staged.of(user).tile(tileMs, index, Objects.requireNonNull(tile, "tile"));
  }

  /** Stages a last-seen candidate (UTC epoch ms); the maximum is written and kept. */
  public void stageLastSeen(String user, long eventTimeMs) {
    staged.of(user).lastSeen(eventTimeMs);
  }

  /** Stages the user's profile (encoded at flush; Redis keeps it unless its stored version is
   * &gt;= this one's). */
  public void stageProfile(String user, P profile) {
    staged.of(user).profile = Objects.requireNonNull(profile, "profile");
  }

  /**
   * Stages the user's pre-merged window values (fields {@code m} and {@code w:<windowMs>},
   * docs/key-layout.md; newest staged wins), written in the same script call as the user's other
   * staged writes. Redis keeps the stored ones unless {@code (events, asOfMs)} is larger.
   *
   * @param events events folded into the user's state (the profile's version)
   * @param asOfMs T, UTC epoch ms
   * @param windowMs per window, its length in ms
   * @param validUntilMs per window, until when its value holds (UTC epoch ms), or {@code
   *     Long.MIN_VALUE} for no bound
   * @param merged per window, its tiles merged as of T (encoded at flush like the tiles)
   */
  public void stagePremerged(String user, long events, long asOfMs, long[] windowMs,
      long[] validUntilMs, T[] merged) {
    if (windowMs.length != validUntilMs.length || windowMs.length != merged.length) {
      throw new IllegalArgumentException("windowMs, validUntilMs and merged differ in length");
    }
    staged.of(user).premerged(events, asOfMs, windowMs, validUntilMs, merged);
  }

  /** Raises the pruned-up-to mark of {@code tileMs} to {@code index} without deleting fields. */
  public void stagePrunedMark(String user, long tileMs, long index) {
    staged.of(user).prunedMark(tileMs, index);
  }

  /**
   * Stages deletion (HDEL) of tiles of size {@code tileMs} that left retention, drops staged
   * values of those tiles, and raises the pruned-up-to mark to the largest index. Nothing is
   * staged for an empty collection.
   */
  public void stagePrune(String user, long tileMs, Collection<Long> indices) {
    if (indices.isEmpty()) {
      return;
    }
    StagedUser<T, P> s = staged.of(user);
    long top = Long.MIN_VALUE;
    for (long k : indices) {
      s.delete(tileMs, k);
      top = Math.max(top, k);
    }
    s.prunedMark(tileMs, top);
  }

  /**
   * Marks the staged writes of {@code user} as partial (only what new events touched): the
   * write applies only if the user's keys still exist; if the store lost them, nothing is
   * written and the flush reports the user in {@link FlushResult#missing()}. No effect once
   * {@link #stagedFull} was called for the user in this flush cycle.
   */
  public void expectStored(String user) {
    StagedUser<T, P> s = staged.of(user);
    if (!s.full) {
      s.expectKeys = true;
    }
  }

  /** Marks the staged writes of {@code user} as all the job holds of it (written unconditionally). */
  public void stagedFull(String user) {
    StagedUser<T, P> s = staged.of(user);
    s.full = true;
    s.expectKeys = false;
  }

  /**
   * Sets the store generation recorded with every write from now on (hash field {@code g},
   * kept as a maximum; docs/key-layout.md).
   *
   * @param generation a generation &gt; 0, or 0 for none (the field is not written)
   */
  public void setGeneration(long generation) {
    this.generation = generation > 0 ? RedisLayout.ascii(generation) : new byte[0];
  }

  /** Whether {@code user} has staged, unflushed writes. */
  public boolean isPending(String user) {
    return staged.contains(user);
  }

  /** Number of users with staged, unflushed writes. */
  public int pendingUsers() {
    return staged.size();
  }

  /** Retries (backoff sleeps) since creation. */
  public long retries() {
    return retries;
  }

  /** Users written (accepted by Redis) since creation. */
  public long usersWritten() {
    return usersWritten;
  }

  /**
   * Writes every staged user; retries until Redis accepted or refused each write.
   *
   * @return the users written, each with the newest event time (ms) staged for it, or null
   * @throws RedisWriteException Redis refused some users' writes (thrown after the others were
   *     written; carries both)
   * @throws RedisStoreException a non-retryable set-up error (wrong password, SCRIPT LOAD
   *     refused, cluster mismatch) or the thread was interrupted; the unapplied users stay staged
   */
  public Map<String, Long> flush() {
    FlushResult r = flushAndReport();
    if (!r.ok()) {
      throw new RedisWriteException(r);
    }
    return r.written();
  }

  /**
   * Like {@link #flush()}, but returns the refused writes instead of throwing them (for callers
   * that dead-letter them).
   *
   * @throws RedisStoreException as {@link #flush()} (not {@link RedisWriteException})
   */
  public FlushResult flushAndReport() {
    if (staged.size() == 0) {
      return FlushResult.EMPTY;
    }
    long t0 = System.nanoTime();
    HashMap<String, StagedUser<T, P>> batch = staged.take();
    List<ScriptCall> calls = new ArrayList<>(batch.size());
    List<WriteFailure> failures = new ArrayList<>(0);
    List<String> missing = new ArrayList<>(0);
    try {
      for (Map.Entry<String, StagedUser<T, P>> e : batch.entrySet()) {
        calls.add(call(e.getKey(), e.getValue()));
      }
    } catch (RuntimeException e) { // an encoder failed: nothing was sent, all stay staged
      for (String user : new ArrayList<>(batch.keySet())) {
        staged.restage(batch, user);
      }
      staged.recycle(batch);
      throw e;
    }
    try {
      sendUntilDone(calls, failures, missing, batch);
    } catch (RuntimeException e) { // the unapplied users were restaged; recycle the rest
      staged.recycle(batch);
      throw e;
    }
    Set<String> failed = new HashSet<>();
    for (WriteFailure f : failures) {
      failed.add(f.user());
    }
    failed.addAll(missing);
    Map<String, Long> written = new HashMap<>(batch.size() * 4 / 3 + 1);
    for (Map.Entry<String, StagedUser<T, P>> e : batch.entrySet()) {
      if (!failed.contains(e.getKey())) {
        long ls = e.getValue().lastSeenMs;
        written.put(e.getKey(), ls == StagedUser.NONE ? null : ls);
      }
    }
    staged.recycle(batch);
    usersWritten += written.size();
    listener.onFlush(System.nanoTime() - t0, calls.size());
    return new FlushResult(written, failures, missing);
  }

  private ScriptCall call(String user, StagedUser<T, P> s) {
    byte[] key = RedisLayout.userKeyBytes(prefix, user);
    byte[] pkey = RedisLayout.profileKeyBytes(key);
    CommandArguments args = WriteScript.evalsha(key, pkey);
    s.appendArgv(args, ttlS, profileTtlS, tileEncoder, profileVersion, profileJson, generation,
        text);
    return new ScriptCall(user, key, pkey, args);
  }

  /**
   * Sends until every call was applied or refused (the retry loop); when it stops early (a
   * set-up error, an interrupt), the users not applied are put back among the staged ones.
   */
  private void sendUntilDone(List<ScriptCall> calls, List<WriteFailure> failures,
      List<String> missing, HashMap<String, StagedUser<T, P>> batch) {
    List<ScriptCall> left = calls;
    long delayMs = retry.initialBackoffMs();
    int quick = 0;
    while (true) {
      SendRound round = new SendRound(failures, missing, sender.cluster());
      try {
        sender.send(left, round);
        if (round.fatal != null) {
          left = round.retry;
          throw round.fatal;
        }
        left = round.retry;
        if (left.isEmpty()) {
          return;
        }
        if (round.cause == null && quick++ < MAX_QUICK_RESENDS) {
          continue; // NOSCRIPT only: the script is loaded in the next pipeline, resend at once
        }
        delayMs = backoff(round.cause != null ? round.cause : round.noScript, delayMs,
            left.size() + " user(s)");
        quick = 0;
      } catch (RedisStoreException e) {
        for (ScriptCall c : left) {
          staged.restage(batch, c.user);
        }
        throw e;
      }
    }
  }

  /**
   * One retry: listener, log, sleep, slot-map refresh.
   *
   * @return the next delay in ms
   * @throws RedisStoreException interrupted, or the refresh met a set-up error
   */
  private long backoff(Exception cause, long delayMs, String what) {
    retries++;
    listener.onRetry(cause);
    LOG.warn("Redis write of {} failed ({}); retrying in {} ms", what, cause.toString(), delayMs);
    try {
      retry.sleeper().sleep(delayMs);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RedisStoreException("interrupted while waiting to retry a Redis write", e);
    }
    sender.refresh();
    return retry.next(delayMs);
  }

  /**
   * The user's stored profile and whether its tile hash exists: GET + EXISTS in one round trip
   * (to the owning primary on a cluster, following ASK), retried like a flush.
   *
   * @throws RedisKeyException a non-retryable error reply for the user's keys (e.g. WRONGTYPE)
   *     or a stored value that is not {@code <version>;<json>}
   * @throws RedisStoreException the thread was interrupted, or a set-up error
   */
  public StoredProfile readProfile(String user) {
    byte[] key = RedisLayout.userKeyBytes(prefix, user);
    byte[] pkey = RedisLayout.profileKeyBytes(key);
    int slot = RedisLayout.keySlot(key);
    long delayMs = retry.initialBackoffMs();
    boolean retried = false;
    while (true) {
      try {
        Object[] r = sender.readProfile(key, pkey, slot);
        if (retried) {
          listener.onRecovered();
        }
        String json = r[0] == null ? null : RedisLayout.decodeProfileJson((byte[]) r[0]);
        return new StoredProfile(json, ((Long) r[1]) > 0);
      } catch (IllegalArgumentException e) {
        throw new RedisKeyException(user, RedisLayout.profileKey(prefix, user), e.getMessage(), e);
      } catch (JedisException e) {
        if (!RedisErrors.isRetryable(e)) {
          throw new RedisKeyException(user, RedisLayout.profileKey(prefix, user),
              e.getMessage(), e);
        }
        delayMs = backoff(e, delayMs, "profile read of " + user);
        retried = true;
      }
    }
  }

  /** Closes the connections; staged writes not flushed are dropped. */
  @Override
  public void close() {
    sender.close();
  }
}
