package io.userpulse.flink.tiles;

import io.userpulse.flink.spec.FeatureSpec;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Pre-merged "as of now" window values ({@code userpulse/premerge.py}, issue 16): per window, the
 * merge of its tiles as of T and until when that merge holds. One window per tile size, the
 * longest of that size ({@code retention_tiles(g) * g} of the spec; {@code PREMERGED_WINDOWS}).
 *
 * <p>A window W of tiles of size g as of t covers the tiles {@code [floor(t/g) - W/g + 1,
 * floor(t/g)]}; its merge stays the same for t in {@code [T, validUntil)}, where {@code
 * validUntil} is the earlier of the exit time of the oldest stored tile inside the window as of T
 * ({@code (k_oldest + W/g) * g}) and the entry time of the nearest stored tile ahead of it
 * ({@code k_future * g}); {@link #NONE} when there is neither (it holds until the tiles change).
 *
 * <p>Merge ({@code userpulse.tiles.merge_tiles}): {@code n}, counts and sums add (long sums exact
 * past 64 bits; double sums in tile index order), maxima and the newest event time take the
 * maximum, sketches the union (the k smallest hashes, k from the spec).
 */
public final class Premerge {

    /** {@link Values#validUntilMs} of a window value without a bound. */
    public static final long NONE = Long.MIN_VALUE;

    private final long[] tileMs;
    private final long[] windowMs;
    private final int[] windowTiles;
    private final TileShape shape;
    private final int sketchK;

    /**
     * @param features the catalogue part of the job spec
     */
    public Premerge(FeatureSpec features) {
        int n = features.tileSizeCount();
        tileMs = new long[n];
        windowMs = new long[n];
        windowTiles = new int[n];
        for (int i = 0; i < n; i++) {
            tileMs[i] = features.tileSizeMs(i);
            windowTiles[i] = features.retentionTiles(i);
            windowMs[i] = tileMs[i] * windowTiles[i];
        }
        shape = TileShape.of(features);
        sketchK = features.distinctSketchK();
    }

    /** Number of windows kept pre-merged (one per tile size). */
    public int windowCount() {
        return windowMs.length;
    }

    /** Length of window {@code i} in ms (its tiles: {@code tileSizeMs(i)} of the spec). */
    public long windowMs(int i) {
        return windowMs[i];
    }

    /** One user's window values as of T (arrays indexed like the spec's tile sizes). */
    public static final class Values {
        /** Per window, the merge of its tiles as of T. */
        public final Tile[] merged;
        /** Per window, the first lookup time (UTC epoch ms) it no longer holds for, or NONE. */
        public final long[] validUntilMs;

        Values(Tile[] merged, long[] validUntilMs) {
            this.merged = merged;
            this.validUntilMs = validUntilMs;
        }

        /** The earliest {@link #validUntilMs} (when to refresh), or {@link #NONE}. */
        public long refreshAtMs() {
            long r = NONE;
            for (long u : validUntilMs) {
                if (u != NONE && (r == NONE || u < r)) {
                    r = u;
                }
            }
            return r;
        }
    }

    /**
     * The window values of a user's tiles as of {@code asOfMs}.
     *
     * @param tiles every tile the user holds (any order; {@code TileState#allTiles})
     * @param asOfMs T, UTC epoch ms
     */
    public Values of(List<TileRef> tiles, long asOfMs) {
        int n = windowMs.length;
        Tile[] merged = new Tile[n];
        long[] until = new long[n];
        List<TileRef> sorted = new ArrayList<>(tiles);
        sorted.sort(Comparator.comparingLong(TileRef::index));
        for (int s = 0; s < n; s++) {
            long g = tileMs[s];
            long last = Math.floorDiv(asOfMs, g);
            long first = last - windowTiles[s] + 1;
            Tile out = shape.newTile();
            long oldest = Long.MAX_VALUE;
            long ahead = Long.MAX_VALUE;
            for (TileRef t : sorted) {
                if (t.tileMs() != g) {
                    continue;
                }
                long k = t.index();
                if (k > last) {
                    ahead = Math.min(ahead, k);
                } else if (k >= first) {
                    oldest = Math.min(oldest, k);
                    mergeInto(out, t.tile(), sketchK);
                }
            }
            long u = NONE;
            if (oldest != Long.MAX_VALUE) {
                u = (oldest + windowTiles[s]) * g;
            }
            if (ahead != Long.MAX_VALUE && (u == NONE || ahead * g < u)) {
                u = ahead * g;
            }
            merged[s] = out;
            until[s] = u;
        }
        return new Values(merged, until);
    }

    /** {@code out := merge(out, t)}, as {@code userpulse.tiles.merge_tiles}. */
    static void mergeInto(Tile out, Tile t, int sketchK) {
        out.n += t.n;
        TileShape shape = out.shape;
        for (int i = 0; i < shape.size(); i++) {
            long bit = 1L << i;
            switch (shape.kind(i)) {
                case TileShape.COUNT, TileShape.SUM_LONG -> addLong(out, t, i);
                case TileShape.SUM_DOUBLE -> {
                    if ((t.present & bit) != 0) {
                        double cur = (out.present & bit) != 0
                                ? Double.longBitsToDouble(out.values[i]) : 0.0;
                        out.values[i] = Double.doubleToRawLongBits(cur + t.doubleValue(i));
                        out.present |= bit;
                    }
                }
                case TileShape.MAX_LONG -> {
                    if ((t.present & bit) != 0
                            && ((out.present & bit) == 0 || t.values[i] > out.values[i])) {
                        out.values[i] = t.values[i];
                        out.present |= bit;
                    }
                }
                case TileShape.MAX_DOUBLE -> {
                    if ((t.present & bit) != 0 && ((out.present & bit) == 0
                            || t.doubleValue(i) > out.doubleValue(i))) {
                        out.values[i] = t.values[i];
                        out.present |= bit;
                    }
                }
                default -> {
                    Kmv from = t.sketches[i];
                    Kmv to = out.sketches[i];
                    for (int j = 0; j < from.size(); j++) {
                        to.add(from.rawHash(j), sketchK);
                    }
                }
            }
        }
        if (t.hasMaxEventTime && (!out.hasMaxEventTime || t.maxEventTimeMs > out.maxEventTimeMs)) {
            out.maxEventTimeMs = t.maxEventTimeMs;
            out.hasMaxEventTime = true;
        }
    }

    /** {@code out[i] += t[i]} for a count or long sum, exact past 64 bits. */
    private static void addLong(Tile out, Tile t, int i) {
        BigInteger a = out.big == null ? null : out.big[i];
        BigInteger b = t.big == null ? null : t.big[i];
        long x = out.values[i];
        long y = t.values[i];
        long r = x + y;
        if (a == null && b == null && ((x ^ r) & (y ^ r)) >= 0) {
            out.values[i] = r;
            return;
        }
        BigInteger sum = (a != null ? a : BigInteger.valueOf(x)).add(b != null ? b : BigInteger.valueOf(y));
        if (out.big == null) {
            out.big = new BigInteger[out.values.length];
        }
        out.big[i] = sum;
        out.values[i] = sum.longValue();
    }
}
