package io.userpulse.flink.redis;

import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Notices that the online store lost data, so the job can rewrite what it holds (design section
 * 5; docs/key-layout.md, "Store generation"). One per task, used from the task's thread.
 *
 * <p>Each {@link #check()} reads the generation marker {@link RedisLayout#generationKey} and the
 * {@code run_id} ({@code INFO server}) of the server, or on a Redis Cluster of every primary
 * ({@link StoreProbe}: the slot map from {@code CLUSTER SLOTS}, the keys on the primaries
 * owning their slots). The store lost data when a server restarted (a new {@code run_id}:
 * restarted empty, from an older snapshot, or AOF {@code everysec} lost its last second; on a
 * cluster also a primary replaced by another node: the set of the primaries' {@code run_id}s
 * changed), when the marker is gone ({@code FLUSHDB}, a failover to an empty replica) or lower
 * than the generation this task knows (an older snapshot), or when another task raised it (it
 * found a loss). A task that finds a loss raises the marker to its known generation + 1 with an
 * atomic max, so tasks that find the same loss agree on one new generation. A cluster primary
 * restarted empty that holds users with no new events is found this way too; the per-user
 * check of the write script ({@link TileWriter#expectStored}) repairs a user at its next event
 * in between.
 *
 * <p>After deciding (and raising the marker if needed) the watch records the {@code run_id}s
 * in {@link RedisLayout#runKey} ({@link RedisLayout#runRecord}) when they differ: until then
 * lookups on a restarted server answer {@code rewriting} (they compare it with the server's
 * {@code run_id} on each new connection), which closes the window between a restart from an
 * older snapshot and this check.
 *
 * <p>The job's ACL user needs {@code +info} for the {@code run_id}; without it the watch goes
 * on with the marker alone (logged once).
 */
public final class StoreWatch implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(StoreWatch.class);
  /** Raises the marker to ARGV[1] unless it is higher; returns the marker's value after. */
  static final String RAISE = "local c = tonumber(redis.call('GET', KEYS[1]) or '0') "
      + "local t = tonumber(ARGV[1]) "
      + "if c < t then redis.call('SET', KEYS[1], ARGV[1]) return t end return c";

  /**
   * The outcome of one check.
   *
   * @param generation the store generation from now on (&gt; 0)
   * @param lost whether the store lost data since the previous check (rewrite everything)
   * @param why what showed the loss (for the log), or null
   */
  public record Check(long generation, boolean lost, String why) {}

  private final StoreProbe probe;
  private final String markerKey;
  private final String runKey;
  private long known;
  /** {@link RedisLayout#runRecord} of the run ids seen at the last check, or null. */
  private String runIds;
  private boolean infoAllowed = true;
  private boolean first = true;

  /**
   * A watch; connects on the first check.
   *
   * @param config the job's connection settings (one server, or any node of a cluster)
   * @param prefix the key prefix ({@link RedisLayout#PREFIX} in production)
   * @param restoredGeneration the generation the job's restored state was written under, or 0
   */
  public StoreWatch(RedisConfig config, String prefix, long restoredGeneration) {
    this.probe = StoreProbe.of(new RedisConnections(Objects.requireNonNull(config, "config")));
    this.markerKey = RedisLayout.generationKey(prefix);
    this.runKey = RedisLayout.runKey(prefix);
    this.known = restoredGeneration;
  }

  /** The generation this task knows (0 before the first successful check). */
  public long generation() {
    return known;
  }

  /**
   * Reads the marker and the {@code run_id}, and raises the marker if the store lost data.
   *
   * @return the outcome, or null when Redis could not be asked (down, slow: try again later)
   * @throws RedisStoreException Redis refused the marker's commands for good (an ACL without
   *     GET / EVAL on the key prefix)
   */
  public Check check() {
    try {
      String m = probe.get(markerKey);
      String recorded = probe.get(runKey);
      String rid = infoAllowed ? runIds() : null;
      Check c = decide(m == null ? 0 : Long.parseLong(m.trim()), rid);
      if (rid != null && !rid.equals(recorded)) {
        probe.set(runKey, rid); // after the marker: lookups now go by the users' generations
      }
      first = false;
      return c;
    } catch (JedisDataException e) {
      if (RedisErrors.isRetryable(e)) { // a transient state, MOVED (a slot moved: re-mapped)
        close();
        return null;
      }
      throw new RedisStoreException("store generation marker " + markerKey + ": "
          + e.getMessage(), e);
    } catch (JedisException e) {
      close();
      return null;
    }
  }

  private Check decide(long marker, String rid) {
    boolean restarted = runIds != null && rid != null && !rid.equals(runIds);
    Check c = decide(marker, restarted);
    if (rid != null) {
      runIds = rid; // after the raise: a raise that failed is tried again at the next check
    }
    return c;
  }

  private Check decide(long marker, boolean restarted) {
    String why = null;
    if (first) {
      if (marker < known || marker == 0) {
        why = marker == 0 ? "generation marker missing" : "generation marker below the state's";
      }
    } else if (restarted) {
      why = "Redis restarted (new run_id)";
    } else if (marker == 0) {
      why = "generation marker missing";
    } else if (marker < known) {
      why = "generation marker went back from " + known + " to " + marker;
    }
    if (why != null) {
      boolean lost = known > 0;
      known = raise(known + 1);
      return new Check(known, lost, lost ? why : null);
    }
    if (marker > known) {
      boolean lost = !first; // another task found a loss
      known = marker;
      return new Check(known, lost, lost ? "another task raised the generation" : null);
    }
    return new Check(known, false, null);
  }

  private long raise(long target) {
    return (Long) probe.eval(RAISE, markerKey, Long.toString(target));
  }

  /** {@link RedisLayout#runRecord} of the server's (primaries') run ids, or null if unknown. */
  private String runIds() {
    try {
      List<String> ids = probe.runIds();
      return ids.isEmpty() ? null : RedisLayout.runRecord(ids);
    } catch (JedisDataException e) {
      if (RedisErrors.isRetryable(e)) {
        throw e;
      }
      infoAllowed = false;
      LOG.warn("INFO refused ({}): the store watch goes on with the generation marker alone; "
          + "give the job's Redis user +info to notice restarts from a snapshot", e.getMessage());
      return null;
    }
  }

  /** Closes the connections (a later check reconnects). */
  @Override
  public void close() {
    probe.close();
  }
}
