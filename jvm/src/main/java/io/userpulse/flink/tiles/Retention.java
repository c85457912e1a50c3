package io.userpulse.flink.tiles;

import io.userpulse.flink.spec.FeatureSpec;
import io.userpulse.flink.spec.JobSpec;
import java.io.Serializable;

/**
 * Cleanup times of tiles ({@code userpulse/tilestate.Retention}): tile {@code index} of size g may
 * be dropped once the watermark reaches {@code (index + 1) * g + retention_tiles(g) * g + allowed
 * lateness}, rounded up to a multiple of the granularity so that many tiles share one timer.
 * All times are event time, UTC epoch ms.
 */
public final class Retention implements Serializable {

    private static final long serialVersionUID = 1L;

    private final long[] tileMs;
    private final long[] keepMs;
    private final long granularityMs;

    /**
     * @param features tile sizes and retention tiles
     * @param allowedLatenessMs the job's allowed lateness, ms (>= 0)
     * @param granularityMs cleanup times are rounded up to a multiple of this, ms (> 0)
     * @throws IllegalArgumentException a negative lateness or a granularity that is not positive
     */
    public Retention(FeatureSpec features, long allowedLatenessMs, long granularityMs) {
        if (allowedLatenessMs < 0 || granularityMs <= 0) {
            throw new IllegalArgumentException("retention: allowed lateness must be >= 0 and the "
                    + "granularity > 0, got " + allowedLatenessMs + ", " + granularityMs);
        }
        int n = features.tileSizeCount();
        this.tileMs = new long[n];
        this.keepMs = new long[n];
        for (int i = 0; i < n; i++) {
            tileMs[i] = features.tileSizeMs(i);
            keepMs[i] = features.retentionTiles(i) * tileMs[i] + allowedLatenessMs;
        }
        this.granularityMs = granularityMs;
    }

    /** The retention of a job spec (its allowed lateness and retention granularity). */
    public static Retention of(JobSpec spec) {
        return new Retention(spec.features(), spec.job().allowedLatenessMs(),
                spec.job().retentionGranularityMs());
    }

    /**
     * Watermark (UTC epoch ms) at which tile {@code index} of size {@code tileMs} may be dropped.
     *
     * @throws IllegalArgumentException {@code tileMs} is not a tile size of the spec
     */
    public long cleanupMs(long tileMs, long index) {
        for (int i = 0; i < this.tileMs.length; i++) {
            if (this.tileMs[i] == tileMs) {
                return cleanupMsAt(i, index);
            }
        }
        throw new IllegalArgumentException("no tile size " + tileMs + " ms in the spec");
    }

    /** {@link #cleanupMs} of the tile size in {@code slot} (its position in the spec). */
    public long cleanupMsAt(int slot, long index) {
        long t = (index + 1) * tileMs[slot] + keepMs[slot];
        return -Math.floorDiv(-t, granularityMs) * granularityMs;
    }
}
