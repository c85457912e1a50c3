package io.userpulse.flink.tiles;

import io.userpulse.flink.profile.Profile;
import java.util.Arrays;
import java.util.Objects;

/**
 * A user's small per-event state ({@code userpulse/tilestate.Head}): the newest tile of every
 * tile size (by slot, the size's position in the spec), the next cleanup time, and the user's
 * {@link Profile}. In-order events touch only the head, so the operator reads and writes one
 * {@code ValueState<Head>} per event ({@link HeadSerializer}).
 *
 * <p>{@link #isWritten()} is the Python job's {@code _complete} set: whether this operator
 * instance has staged the user's whole state to Redis since it got it. The flag is not
 * serialized (a head restored from a checkpoint or savepoint reads as not written, so the user is
 * rewritten in full, case H19) but {@link #copy()} keeps it (the heap state backend copies values
 * while a snapshot runs). It therefore lasts between events only on a heap state backend: with
 * RocksDB every read deserializes and the user would be rewritten in full on every event.
 */
public final class Head {

    final long[] newestIndex;
    final Tile[] newestTile;
    long nextCleanupMs = TileState.NONE;
    Profile profile;
    /** Not serialized: see the class doc. */
    private boolean written;

    /**
     * An empty head.
     *
     * @param slots number of tile sizes of the spec
     * @param profile the user's profile (revived or new)
     */
    public Head(int slots, Profile profile) {
        this.newestIndex = new long[slots];
        this.newestTile = new Tile[slots];
        this.profile = Objects.requireNonNull(profile);
    }

    /** Number of tile sizes. */
    public int slotCount() {
        return newestTile.length;
    }

    /** The newest tile of {@code slot}, or null when none. */
    public Tile newestTile(int slot) {
        return newestTile[slot];
    }

    /** Index of the newest tile of {@code slot} (meaningless when {@link #newestTile} is null). */
    public long newestIndex(int slot) {
        return newestIndex[slot];
    }

    /** Earliest pending cleanup time, UTC epoch ms (event time), or {@link TileState#NONE}. */
    public long nextCleanupMs() {
        return nextCleanupMs;
    }

    /** The user's profile. */
    public Profile profile() {
        return profile;
    }

    /** True when this operator instance has staged the user's whole state since it got it. */
    public boolean isWritten() {
        return written;
    }

    /** Records that the user's whole state is staged (every later change is staged as it happens). */
    public void markWritten() {
        written = true;
    }

    /** A deep copy (tiles, profile, and the {@link #isWritten()} flag). */
    public Head copy() {
        Head h = new Head(newestTile.length, profile.copy());
        System.arraycopy(newestIndex, 0, h.newestIndex, 0, newestIndex.length);
        for (int i = 0; i < newestTile.length; i++) {
            h.newestTile[i] = newestTile[i] == null ? null : newestTile[i].copy();
        }
        h.nextCleanupMs = nextCleanupMs;
        h.written = written;
        return h;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Head h) || h.nextCleanupMs != nextCleanupMs
                || !Arrays.equals(h.newestTile, newestTile) || !h.profile.equals(profile)) {
            return false;
        }
        for (int i = 0; i < newestTile.length; i++) {
            if (newestTile[i] != null && newestIndex[i] != h.newestIndex[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(nextCleanupMs, profile);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Head{");
        for (int i = 0; i < newestTile.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(i).append(':');
            sb.append(newestTile[i] == null ? "-" : newestIndex[i] + "=" + newestTile[i]);
        }
        return sb.append(", nextCleanupMs=").append(nextCleanupMs).append(", ").append(profile)
                .append('}').toString();
    }
}
