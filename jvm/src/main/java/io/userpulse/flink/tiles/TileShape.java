package io.userpulse.flink.tiles;

import io.userpulse.flink.event.EventFields;
import io.userpulse.flink.spec.AggregateSpec;
import io.userpulse.flink.spec.FeatureSpec;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What each value of a tile is (one kind per aggregate, in spec order): the part of the spec a
 * {@link Tile} carries so that it can be encoded and serialized without the spec. Interned: equal
 * shapes are one instance, shared by every tile.
 */
public final class TileShape implements Serializable {

    private static final long serialVersionUID = 1L;
    /** A count: long, starts at 0. */
    public static final byte COUNT = 0;
    /** A sum of a long field: long (promoted to BigInteger past 64 bits), starts at 0. */
    public static final byte SUM_LONG = 1;
    /** A sum of a double field: starts as the integer 0, a double after the first value. */
    public static final byte SUM_DOUBLE = 2;
    /** The max of a long field: empty until the first value. */
    public static final byte MAX_LONG = 3;
    /** The max of a double field: empty until the first value. */
    public static final byte MAX_DOUBLE = 4;
    /** A KMV sketch of a string field's hashes. */
    public static final byte DISTINCT = 5;

    private static final ConcurrentHashMap<String, TileShape> INTERNED = new ConcurrentHashMap<>();

    private final byte[] kinds;

    private TileShape(byte[] kinds) {
        this.kinds = kinds;
    }

    /**
     * The shape of {@code kinds} (interned).
     *
     * @throws IllegalArgumentException an unknown kind code, or more than 64 values
     */
    public static TileShape of(byte[] kinds) {
        if (kinds.length > FeatureSpec.MAX_AGGREGATES) {
            throw new IllegalArgumentException("a tile holds at most " + FeatureSpec.MAX_AGGREGATES
                    + " values, got " + kinds.length);
        }
        for (byte k : kinds) {
            if (k < COUNT || k > DISTINCT) {
                throw new IllegalArgumentException("unknown tile value kind " + k);
            }
        }
        String key = Arrays.toString(kinds);
        return INTERNED.computeIfAbsent(key, x -> new TileShape(kinds.clone()));
    }

    /** The shape of the spec's aggregates. */
    public static TileShape of(FeatureSpec features) {
        List<AggregateSpec> aggs = features.aggregates();
        byte[] kinds = new byte[aggs.size()];
        for (int i = 0; i < kinds.length; i++) {
            kinds[i] = kindOf(aggs.get(i));
        }
        return of(kinds);
    }

    static byte kindOf(AggregateSpec a) {
        boolean dbl = a.valueType() == EventFields.ValueType.DOUBLE;
        switch (a.kind()) {
            case COUNT:
                return COUNT;
            case SUM:
                return dbl ? SUM_DOUBLE : SUM_LONG;
            case MAX:
                return dbl ? MAX_DOUBLE : MAX_LONG;
            default:
                return DISTINCT;
        }
    }

    /** Number of values (aggregates). */
    public int size() {
        return kinds.length;
    }

    /** The kind of value {@code i} (one of the constants of this class). */
    public byte kind(int i) {
        return kinds[i];
    }

    /** A new empty tile of this shape. */
    public Tile newTile() {
        return new Tile(this);
    }

    private Object readResolve() {
        return of(kinds);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TileShape s && Arrays.equals(kinds, s.kinds);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(kinds);
    }

    @Override
    public String toString() {
        return "TileShape" + Arrays.toString(kinds);
    }
}
