package io.userpulse.flink.spec;

import java.io.Serializable;

/**
 * The job's settings ({@code job}); times in ms.
 *
 * @param allowedLatenessMs an event older than watermark - this is late (late output)
 * @param maxFutureMs how far ahead of the job's clock an event time may be (else dead-lettered)
 * @param flushIntervalMs the Redis sink flushes at least this often
 * @param flushMaxPending the Redis sink flushes when this many users are pending
 * @param premergeRefreshMs resolution of the refresh of the pre-merged window values (0: none
 *     written; docs/key-layout.md)
 * @param maxRecordBytes larger Kafka records are dead-lettered
 * @param retentionGranularityMs tile cleanup times are rounded up to a multiple of this
 */
public record JobSettings(
        long allowedLatenessMs,
        long maxFutureMs,
        long flushIntervalMs,
        int flushMaxPending,
        long premergeRefreshMs,
        int maxRecordBytes,
        long retentionGranularityMs)
        implements Serializable {

    static JobSettings parse(SpecReader r) {
        String fix = "fix the setting of that name (userpulse/settings.py)";
        return new JobSettings(
                r.integer("allowed_lateness_ms", 0, Long.MAX_VALUE / 4, fix),
                r.integer("max_future_ms", 0, Long.MAX_VALUE / 4, fix),
                r.integer("flush_interval_ms", 1, Long.MAX_VALUE, fix),
                (int) r.integer("flush_max_pending", 1, Integer.MAX_VALUE, fix),
                r.integer("premerge_refresh_ms", 0, 60_000, fix),
                (int) r.integer("max_record_bytes", 1, Integer.MAX_VALUE, fix),
                r.integer("retention_granularity_ms", 1, Long.MAX_VALUE / 4,
                        "fix RETENTION_GRANULARITY_MS in userpulse/jvmspec.py"));
    }
}
