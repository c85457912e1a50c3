package io.userpulse.flink.spec;

import java.util.Locale;

/** How a tile aggregate folds events ({@code userpulse/features.py} {@code AggKind}). */
public enum AggregateKind {
    /** Events of the aggregate's type (merge: add). */
    COUNT,
    /** Sum of a long or double field (merge: add). */
    SUM,
    /** Maximum of a long or double field; empty until a value arrives (merge: max). */
    MAX,
    /** KMV sketch of a string field's distinct values (merge: union). */
    DISTINCT;

    /**
     * The kind of a spec name.
     *
     * @param name {@code count}, {@code sum}, {@code max} or {@code distinct}
     * @throws IllegalArgumentException for another name
     */
    public static AggregateKind of(String name) {
        for (AggregateKind k : values()) {
            if (k.specName().equals(name)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown aggregate kind '" + name
                + "': use count, sum, max or distinct (or implement the new kind in TileAggregator)");
    }

    /** The spec name, lower case. */
    public String specName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
