package io.userpulse.flink.redis;

/**
 * Metrics hooks of {@link TileWriter}, called on the writer's thread; both default to nothing.
 */
public interface WriterListener {

  /** A listener that ignores everything. */
  WriterListener NONE = new WriterListener() {};

  /**
   * Called before each backoff sleep of a flush or a profile read.
   *
   * @param cause why it is retried: a lost connection or timeout, or a transient server reply
   *     (LOADING, BUSY, OOM, MASTERDOWN, READONLY, TRYAGAIN, CLUSTERDOWN, MOVED)
   */
  default void onRetry(Exception cause) {}

  /**
   * Called after each flush that had staged users (also when some writes were refused).
   *
   * @param nanos wall time of the flush in ns (including retries and backoff)
   * @param users users in the batch
   */
  default void onFlush(long nanos, int users) {}

  /** Called when a profile read succeeded after at least one retry. */
  default void onRecovered() {}
}
