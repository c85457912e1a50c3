package io.userpulse.flink.tiles;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tile's partial aggregates ({@code userpulse/tiles.py} {@code TileValue}): {@code n} (every
 * event folded, of any type; the tile's write version), one value per aggregate, and the newest
 * event time folded (UTC epoch ms). Mutable: {@link TileAggregator} folds events into it,
 * {@link TileCodec} encodes it, {@link TileSerializer} keeps it in Flink state.
 *
 * <p>Values by {@link TileShape} kind: counts and long sums in {@link #longValue}, exact past 64
 * bits through {@link #bigValue}; double sums and maxima in {@link #doubleValue}; a max (and a
 * double sum before its first value, which Python keeps as the integer 0) may be empty
 * ({@link #hasValue}); distinct aggregates in {@link #sketch}.
 */
public final class Tile {

    /** {@link #maxEventTimeMs()} of a tile no event was folded into (Python's None). */
    public static final long NONE = Long.MIN_VALUE;

    final TileShape shape;
    long n;
    /** Per aggregate: a long value, or the raw bits of a double value. */
    final long[] values;
    /** Bit i: value i is set (max: not empty; double sum: a value was added). */
    long present;
    /** Per aggregate: the sketch of a distinct aggregate, else null. */
    final Kmv[] sketches;
    /** Null unless a long sum passed 64 bits; then entry i holds its exact value. */
    BigInteger[] big;
    long maxEventTimeMs;
    boolean hasMaxEventTime;

    Tile(TileShape shape) {
        this.shape = shape;
        int k = shape.size();
        this.values = new long[k];
        this.sketches = new Kmv[k];
        for (int i = 0; i < k; i++) {
            if (shape.kind(i) == TileShape.DISTINCT) {
                sketches[i] = new Kmv();
            }
        }
    }

    /** The tile's shape. */
    public TileShape shape() {
        return shape;
    }

    /** Events folded into this tile (any type); only grows: the tile's write version. */
    public long n() {
        return n;
    }

    /** True when value {@code i} is set (always for counts and long sums). */
    public boolean hasValue(int i) {
        byte k = shape.kind(i);
        return k == TileShape.COUNT || k == TileShape.SUM_LONG || (present & (1L << i)) != 0;
    }

    /** Value {@code i} of a count / long sum / long max (for a sum past 64 bits: see bigValue). */
    public long longValue(int i) {
        return values[i];
    }

    /** Value {@code i} of a double sum / max. */
    public double doubleValue(int i) {
        return Double.longBitsToDouble(values[i]);
    }

    /** The exact value of long sum {@code i} when it passed 64 bits, else null. */
    public BigInteger bigValue(int i) {
        return big == null ? null : big[i];
    }

    /** The sketch of distinct aggregate {@code i}, else null. */
    public Kmv sketch(int i) {
        return sketches[i];
    }

    /** True when an event was folded (then {@link #maxEventTimeMs()} is set). */
    public boolean hasMaxEventTime() {
        return hasMaxEventTime;
    }

    /** Newest event time folded in, UTC epoch ms, or {@link #NONE} when none. */
    public long maxEventTimeMs() {
        return hasMaxEventTime ? maxEventTimeMs : NONE;
    }

    /** A deep copy. */
    public Tile copy() {
        Tile t = new Tile(shape);
        t.n = n;
        System.arraycopy(values, 0, t.values, 0, values.length);
        t.present = present;
        for (int i = 0; i < sketches.length; i++) {
            if (sketches[i] != null) {
                t.sketches[i] = sketches[i].copy();
            }
        }
        t.big = big == null ? null : big.clone();
        t.maxEventTimeMs = maxEventTimeMs;
        t.hasMaxEventTime = hasMaxEventTime;
        return t;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tile t && t.shape == shape && t.n == n && t.present == present
                && Arrays.equals(t.values, values) && Arrays.equals(t.sketches, sketches)
                && Arrays.equals(t.big, big) && t.hasMaxEventTime == hasMaxEventTime
                && t.maxEventTimeMs == maxEventTimeMs;
    }

    @Override
    public int hashCode() {
        return Objects.hash(n, Arrays.hashCode(values), maxEventTimeMs);
    }

    /** The v1 tile value ({@link TileCodec#encode(Tile)}). */
    @Override
    public String toString() {
        return TileCodec.encode(this);
    }
}
