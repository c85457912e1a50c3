package io.userpulse.flink.redis;

import java.util.List;
import java.util.Map;

/**
 * What one flush did: the users written, and the users whose write Redis refused.
 *
 * @param written user id -&gt; newest event time staged for it (UTC epoch ms), or null when no
 *     last-seen was staged; every user of the batch except the failed ones
 * @param failures the refused writes (empty when all were written), in no particular order
 * @param missing users whose write held only part of the user ({@link
 *     TileWriter#expectStored}) and found the user's keys gone: nothing of theirs was written;
 *     the store lost them and the caller must stage them in full
 */
public record FlushResult(Map<String, Long> written, List<WriteFailure> failures,
    List<String> missing) {

  /** An empty result (nothing was staged). */
  public static final FlushResult EMPTY = new FlushResult(Map.of(), List.of(), List.of());

  /** A result without missing users. */
  public FlushResult(Map<String, Long> written, List<WriteFailure> failures) {
    this(written, failures, List.of());
  }

  /** Whether Redis accepted every write of the batch. */
  public boolean ok() {
    return failures.isEmpty();
  }
}
