package io.userpulse.flink.tiles;

/**
 * What {@link TileState#expire} dropped ({@code expire}'s {@code (dropped, next)}): the dropped
 * tile indices per slot (ascending) and the next cleanup time of what remains.
 */
public final class Expired {

    private final long[] tileMs;
    private final long[][] dropped;
    private final long nextCleanupMs;

    Expired(long[] tileMs, long[][] dropped, long nextCleanupMs) {
        this.tileMs = tileMs;
        this.dropped = dropped;
        this.nextCleanupMs = nextCleanupMs;
    }

    /** Number of slots (tile sizes). */
    public int slotCount() {
        return dropped.length;
    }

    /** Tile size of {@code slot}, ms. */
    public long tileMs(int slot) {
        return tileMs[slot];
    }

    /** Dropped tile indices of {@code slot}, ascending (empty when none; do not modify). */
    public long[] dropped(int slot) {
        return dropped[slot];
    }

    /** True when no tile was dropped. */
    public boolean nothingDropped() {
        for (long[] d : dropped) {
            if (d.length > 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The next cleanup time (event time, UTC epoch ms) to register, or {@link TileState#NONE}
     * when the user holds no tile any more: the caller clears the user's state.
     */
    public long nextCleanupMs() {
        return nextCleanupMs;
    }

    /** True when the user holds no tile any more ({@link #nextCleanupMs()} is NONE). */
    public boolean stateFreed() {
        return nextCleanupMs == TileState.NONE;
    }
}
