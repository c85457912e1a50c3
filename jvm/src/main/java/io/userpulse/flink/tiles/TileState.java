package io.userpulse.flink.tiles;

import io.userpulse.flink.event.Event;
import io.userpulse.flink.profile.Profile;
import io.userpulse.flink.spec.FeatureSpec;
import io.userpulse.flink.spec.JobSpec;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Per-user tile state logic, independent of the state backend ({@code userpulse/tilestate.py}):
 * {@link #fold} an event into the user's {@link Head} and older tiles ({@link TileStore}),
 * {@link #expire} tiles past retention, list {@link #allTiles}. Tile k of size g holds event
 * times {@code [k*g, (k+1)*g)}; times are UTC epoch ms.
 *
 * <p>A tile moves from the head to the store when a newer tile of its size replaces it; an
 * out-of-order event reads, changes and puts back an older tile. The caller writes the head back
 * to its {@code ValueState} after {@link #fold} and {@link #expire} (they change it in place).
 * Not thread-safe (reused scratch arrays): one instance per operator subtask; {@link
 * Serializable} so the function can carry it in the job graph.
 */
public final class TileState implements Serializable {

    private static final long serialVersionUID = 1L;
    /** "No time": no new cleanup timer, no next cleanup (Python's None). */
    public static final long NONE = Long.MIN_VALUE;

    private final long[] tileMs;
    private final TileAggregator aggregator;
    private final Retention retention;
    private transient Tile[] scratchTiles;
    private transient boolean[] scratchPut;

    /**
     * @param features the catalogue
     * @param retention cleanup times
     */
    public TileState(FeatureSpec features, Retention retention) {
        this.tileMs = features.tileSizesMs();
        this.aggregator = new TileAggregator(features);
        this.retention = retention;
    }

    /** The tile state logic of a job spec. */
    public static TileState of(JobSpec spec) {
        return new TileState(spec.features(), Retention.of(spec));
    }

    /** A new head holding no tile (for a user without state, with its revived profile). */
    public Head newHead(Profile profile) {
        return new Head(tileMs.length, profile);
    }

    /** A reusable {@link Touched} for {@link #fold}. */
    public Touched newTouched() {
        return new Touched(tileMs.length);
    }

    /** The aggregator folding events into tiles. */
    public TileAggregator aggregator() {
        return aggregator;
    }

    /** The retention (cleanup times). */
    public Retention retention() {
        return retention;
    }

    /**
     * Folds {@code e} into the user's tiles ({@code fold_event}).
     *
     * @param head the user's head (changed in place)
     * @param older the user's older tiles
     * @param e the event (counted, not late)
     * @param touched receives the touched tile of every tile size (absolute values to write)
     * @return a new cleanup time (event time, UTC epoch ms) to register as a timer, or
     *     {@link #NONE} when an earlier one is already pending
     * @throws Exception from the store
     */
    public long fold(Head head, TileStore older, Event e, Touched touched) throws Exception {
        int slots = tileMs.length;
        Tile[] tiles = scratchTiles;
        boolean[] putBack = scratchPut;
        if (tiles == null) {
            tiles = scratchTiles = new Tile[slots];
            putBack = scratchPut = new boolean[slots];
        }
        long newCleanup = NONE;
        long et = e.eventTimeMs;
        for (int i = 0; i < slots; i++) {
            long g = tileMs[i];
            long k = Math.floorDiv(et, g);
            Tile cur = head.newestTile[i];
            long curK = head.newestIndex[i];
            Tile tile;
            boolean isOlder = false;
            if (cur != null && curK == k) {
                tile = cur;
            } else if (cur == null || k > curK) {
                if (cur != null) {
                    older.put(TileKeys.pack(i, curK), cur);
                }
                tile = aggregator.newTile();
                head.newestIndex[i] = k;
                head.newestTile[i] = tile;
                long c = retention.cleanupMsAt(i, k);
                if (head.nextCleanupMs == NONE || c < head.nextCleanupMs) {
                    head.nextCleanupMs = newCleanup = c;
                }
            } else { // an older tile: out-of-order event
                isOlder = true;
                tile = older.get(TileKeys.pack(i, k));
                if (tile == null) {
                    tile = aggregator.newTile();
                    long c = retention.cleanupMsAt(i, k);
                    if (head.nextCleanupMs == NONE || c < head.nextCleanupMs) {
                        head.nextCleanupMs = newCleanup = c;
                    }
                }
            }
            tiles[i] = tile;
            putBack[i] = isOlder;
            touched.set(i, g, k, tile);
        }
        aggregator.add(e, tiles, slots);
        for (int i = 0; i < slots; i++) {
            if (putBack[i]) {
                older.put(TileKeys.pack(i, touched.index(i)), tiles[i]);
            }
            tiles[i] = null;
        }
        return newCleanup;
    }

    /**
     * Drops tiles whose cleanup time is at or before {@code watermarkMs} ({@code expire}).
     *
     * @param head the user's head (changed in place: dropped newest tiles, next cleanup time)
     * @param older the user's older tiles (dropped ones removed)
     * @param watermarkMs the current watermark, UTC epoch ms
     * @return the dropped indices per slot and the next cleanup time ({@link #NONE}: the user
     *     holds no tile any more; the caller clears the state)
     * @throws IllegalStateException a stored key of a slot the spec does not have (state
     *     written with another catalogue)
     * @throws Exception from the store
     */
    public Expired expire(Head head, TileStore older, long watermarkMs) throws Exception {
        int slots = tileMs.length;
        long[][] dropped = new long[slots][];
        int[] counts = new int[slots];
        for (int i = 0; i < slots; i++) {
            dropped[i] = new long[4];
        }
        long nxt = NONE;
        for (long key : snapshot(older)) {
            int slot = slotOf(key);
            long k = TileKeys.index(key);
            long c = retention.cleanupMsAt(slot, k);
            if (c <= watermarkMs) {
                older.remove(key);
                dropped[slot] = append(dropped[slot], counts[slot]++, k);
            } else if (nxt == NONE || c < nxt) {
                nxt = c;
            }
        }
        for (int i = 0; i < slots; i++) {
            if (head.newestTile[i] == null) {
                continue;
            }
            long k = head.newestIndex[i];
            long c = retention.cleanupMsAt(i, k);
            if (c <= watermarkMs) {
                head.newestTile[i] = null;
                dropped[i] = append(dropped[i], counts[i]++, k);
            } else if (nxt == NONE || c < nxt) {
                nxt = c;
            }
        }
        head.nextCleanupMs = nxt;
        for (int i = 0; i < slots; i++) {
            dropped[i] = Arrays.copyOf(dropped[i], counts[i]);
            Arrays.sort(dropped[i]);
        }
        return new Expired(tileMs.clone(), dropped, nxt);
    }

    /**
     * Every tile the user holds ({@code all_tiles}): the store's, then the head's.
     *
     * @throws Exception from the store
     */
    public List<TileRef> allTiles(Head head, TileStore older) throws Exception {
        List<TileRef> out = new ArrayList<>();
        for (long key : snapshot(older)) {
            Tile t = older.get(key);
            if (t != null) {
                int slot = slotOf(key);
                out.add(new TileRef(slot, tileMs[slot], TileKeys.index(key), t));
            }
        }
        for (int i = 0; i < tileMs.length; i++) {
            if (head.newestTile[i] != null) {
                out.add(new TileRef(i, tileMs[i], head.newestIndex[i], head.newestTile[i]));
            }
        }
        return out;
    }

    private int slotOf(long key) {
        int slot = TileKeys.slot(key);
        if (slot >= tileMs.length) {
            throw new IllegalStateException("tile state key of slot " + slot + " but the spec has "
                    + tileMs.length + " tile sizes: state written with another catalogue");
        }
        return slot;
    }

    private static long[] snapshot(TileStore older) throws Exception {
        long[] keys = new long[8];
        int n = 0;
        for (Long k : older.keys()) {
            keys = append(keys, n++, k);
        }
        return Arrays.copyOf(keys, n);
    }

    private static long[] append(long[] a, int n, long v) {
        if (n == a.length) {
            a = Arrays.copyOf(a, 2 * a.length);
        }
        a[n] = v;
        return a;
    }
}
