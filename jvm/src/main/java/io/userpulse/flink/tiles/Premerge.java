package io.userpulse.flink.tiles;

import io.userpulse.flink.spec.FeatureSpec;
import io.userpulse.flink.event.Event;
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
 *
 * <p>Incremental upkeep ({@link Running}): while the values of T still hold at the job's clock
 * now (every window: {@code T <= now < validUntil}), each window covers the same stored tiles as
 * of now as of T; an event folded into tile {@code (g, k)} then changes window g's merge exactly
 * by that event when {@code k} is inside the window as of now (folded into the merge with the
 * same aggregator), moves its {@code validUntil} earlier when {@code k} is older than its oldest
 * tile or ahead of it, and changes nothing else. Only when a value stopped holding is the merge
 * computed again from every tile ({@link #of}). Double sums then add in arrival order (no
 * aggregate of the catalogue is one).
 */
public final class Premerge {

    /** {@link Values#validUntilMs} of a window value without a bound. */
    public static final long NONE = Long.MIN_VALUE;

    private final long[] tileMs;
    private final long[] windowMs;
    private final int[] windowTiles;
    private final TileShape shape;
    private final int sketchK;
    private final TileAggregator aggregator;

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
        aggregator = new TileAggregator(features);
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
     * One user's window values as of {@link #asOfMs()}, kept up to date event by event ({@link
     * #fold}) while they hold. Mutable; its merged tiles are reused.
     */
    public static final class Running {
        private long asOfMs;
        private long events;
        private final Tile[] merged;
        private final long[] oldest;
        private final long[] ahead;

        private Running(long asOfMs, long events, Tile[] merged, long[] oldest, long[] ahead) {
            this.asOfMs = asOfMs;
            this.events = events;
            this.merged = merged;
            this.oldest = oldest;
            this.ahead = ahead;
        }

        /** T, UTC epoch ms. */
        public long asOfMs() {
            return asOfMs;
        }

        /** The events folded in (the profile's version the values belong to). */
        public long events() {
            return events;
        }

        /** Per window, its merged tile (the object is updated by later folds). */
        public Tile[] merged() {
            return merged;
        }
    }

    /**
     * The values of every tile the user holds, as of {@code asOfMs}, for incremental upkeep.
     *
     * @param events the profile's version the tiles belong to
     */
    public Running running(List<TileRef> tiles, long asOfMs, long events) {
        int n = windowMs.length;
        Tile[] merged = new Tile[n];
        long[] oldest = new long[n];
        long[] ahead = new long[n];
        List<TileRef> sorted = new ArrayList<>(tiles);
        sorted.sort(Comparator.comparingLong(TileRef::index));
        for (int s = 0; s < n; s++) {
            long g = tileMs[s];
            long last = Math.floorDiv(asOfMs, g);
            long first = last - windowTiles[s] + 1;
            Tile out = shape.newTile();
            oldest[s] = Long.MAX_VALUE;
            ahead[s] = Long.MAX_VALUE;
            for (TileRef t : sorted) {
                if (t.tileMs() != g) {
                    continue;
                }
                long k = t.index();
                if (k > last) {
                    ahead[s] = Math.min(ahead[s], k);
                } else if (k >= first) {
                    oldest[s] = Math.min(oldest[s], k);
                    mergeInto(out, t.tile(), sketchK);
                }
            }
            merged[s] = out;
        }
        return new Running(asOfMs, events, merged, oldest, ahead);
    }

    /** Until when window {@code s} of {@code r} holds (UTC epoch ms), or {@link #NONE}. */
    public long validUntilMs(Running r, int s) {
        long g = tileMs[s];
        long u = NONE;
        if (r.oldest[s] != Long.MAX_VALUE) {
            u = (r.oldest[s] + windowTiles[s]) * g;
        }
        if (r.ahead[s] != Long.MAX_VALUE && (u == NONE || r.ahead[s] * g < u)) {
            u = r.ahead[s] * g;
        }
        return u;
    }

    /** Every window's {@link #validUntilMs}, in a new array. */
    public long[] validUntilMs(Running r) {
        long[] out = new long[windowMs.length];
        for (int s = 0; s < out.length; s++) {
            out[s] = validUntilMs(r, s);
        }
        return out;
    }

    /** Whether every window value of {@code r} holds at {@code nowMs} (UTC epoch ms). */
    public boolean holds(Running r, long nowMs) {
        if (nowMs < r.asOfMs) {
            return false;
        }
        for (int s = 0; s < windowMs.length; s++) {
            long u = validUntilMs(r, s);
            if (u != NONE && nowMs >= u) {
                return false;
            }
        }
        return true;
    }

    /**
     * Folds event {@code e}, just folded into the tiles {@code touched} (the profile's version
     * now {@code events}), into {@code r}, which then is as of {@code nowMs}.
     *
     * @throws IllegalStateException {@code r} does not hold at {@code nowMs} (compute anew)
     */
    public void fold(Running r, Event e, Touched touched, long nowMs, long events) {
        if (!holds(r, nowMs)) {
            throw new IllegalStateException("pre-merged values do not hold at " + nowMs);
        }
        for (int i = 0; i < touched.size(); i++) {
            long g = touched.tileMs(i);
            long k = touched.index(i);
            for (int s = 0; s < tileMs.length; s++) {
                if (tileMs[s] != g) {
                    continue;
                }
                long last = Math.floorDiv(nowMs, g);
                long first = last - windowTiles[s] + 1;
                if (k > last) {
                    r.ahead[s] = Math.min(r.ahead[s], k);
                } else if (k >= first) {
                    r.oldest[s] = Math.min(r.oldest[s], k);
                    aggregator.add(e, r.merged[s]);
                }
            }
        }
        r.asOfMs = nowMs;
        r.events = events;
    }

    /**
     * The window values of a user's tiles as of {@code asOfMs}.
     *
     * @param tiles every tile the user holds (any order; {@code TileState#allTiles})
     * @param asOfMs T, UTC epoch ms
     */
    public Values of(List<TileRef> tiles, long asOfMs) {
        Running r = running(tiles, asOfMs, 0);
        return new Values(r.merged, validUntilMs(r));
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
