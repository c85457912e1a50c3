package io.userpulse.flink.redis;

import java.util.List;
import java.util.Map;

/**
 * What one flush did: the users written, and the users whose write Redis refused.
 *
 * @param written user id -&gt; newest event time staged for it (UTC epoch ms), or null when no
 *     last-seen was staged; every user of the batch except the failed ones
 * @param failures the refused writes (empty when all were written), in no particular order
 */
public record FlushResult(Map<String, Long> written, List<WriteFailure> failures) {

  /** An empty result (nothing was staged). */
  public static final FlushResult EMPTY = new FlushResult(Map.of(), List.of());

  /** Whether Redis accepted every write of the batch. */
  public boolean ok() {
    return failures.isEmpty();
  }
}
