package io.userpulse.flink.spec;

import io.userpulse.flink.event.EventType;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

/**
 * The catalogue part of the spec ({@code features}): tile sizes, retention, tile aggregates and
 * the profile's parameters. Immutable.
 *
 * <p>A tile size is addressed by its <em>slot</em>: its position in {@link #tileSizeMs(int)}
 * (ascending). Tile state keys and the per-user head use slots (see {@code tiles.TileKeys}).
 */
public final class FeatureSpec implements Serializable {

    private static final long serialVersionUID = 1L;
    /** Most tile sizes a spec may have (a slot is 8 bits of a packed tile key). */
    public static final int MAX_TILE_SIZES = 255;
    /** Most aggregates a spec may have (a tile keeps one presence bit per aggregate). */
    public static final int MAX_AGGREGATES = 64;
    private static final String WINDOWS = "fix WINDOWS in userpulse/features.py";

    private final long[] tileSizesMs;
    private final int[] retentionTiles;
    private final List<AggregateSpec> aggregates;
    private final int lastK;
    private final boolean[] lastKType;
    private final boolean[] lifetimeType;
    private final long sessionGapMs;
    private final int distinctSketchK;

    /**
     * A validated catalogue.
     *
     * @param tileSizesMs tile sizes, ms, positive and strictly ascending (1..255 of them)
     * @param retentionTiles per tile size, how many tiles the longest window using it spans (> 0)
     * @param aggregates tile aggregates in value order (at most 64, unique names)
     * @param lastK length of the last-k item lists (>= 0)
     * @param lastKTypes event types with a last-k list
     * @param lifetimeTypes event types with a lifetime count
     * @param sessionGapMs session inactivity gap, ms (> 0)
     * @param distinctSketchK KMV sketch size (>= 1)
     * @throws IllegalArgumentException a value out of range or mismatched array lengths
     */
    public FeatureSpec(long[] tileSizesMs, int[] retentionTiles, List<AggregateSpec> aggregates,
            int lastK, Set<EventType> lastKTypes, Set<EventType> lifetimeTypes, long sessionGapMs,
            int distinctSketchK) {
        if (tileSizesMs.length == 0 || tileSizesMs.length > MAX_TILE_SIZES) {
            throw SpecReader.fail("features.tile_sizes_ms", "must hold 1.." + MAX_TILE_SIZES
                    + " tile sizes, got " + tileSizesMs.length, WINDOWS);
        }
        for (int i = 0; i < tileSizesMs.length; i++) {
            if (tileSizesMs[i] <= 0 || (i > 0 && tileSizesMs[i] <= tileSizesMs[i - 1])) {
                throw SpecReader.fail("features.tile_sizes_ms[" + i + "]", "tile sizes must be"
                        + " positive and strictly ascending, got " + Arrays.toString(tileSizesMs),
                        WINDOWS);
            }
        }
        if (retentionTiles.length != tileSizesMs.length) {
            throw SpecReader.fail("features.retention_tiles", "has " + retentionTiles.length
                    + " entries but tile_sizes_ms has " + tileSizesMs.length + "; they must match",
                    SpecReader.REGENERATE);
        }
        for (int i = 0; i < retentionTiles.length; i++) {
            if (retentionTiles[i] <= 0) {
                throw SpecReader.fail("features.retention_tiles[" + i + "]", "must be positive, got "
                        + retentionTiles[i], WINDOWS);
            }
        }
        if (aggregates.size() > MAX_AGGREGATES) {
            throw SpecReader.fail("features.aggregates", "at most " + MAX_AGGREGATES
                    + " aggregates, got " + aggregates.size(), "fix TILE_AGGREGATES");
        }
        Set<String> names = new HashSet<>();
        for (AggregateSpec a : aggregates) {
            if (!names.add(a.name())) {
                throw SpecReader.fail("features.aggregates", "duplicate name " + a.name(),
                        "fix TILE_AGGREGATES in userpulse/features.py");
            }
        }
        if (lastK < 0 || sessionGapMs <= 0 || distinctSketchK < 1) {
            throw SpecReader.fail("features", "last_k must be >= 0, session_gap_ms > 0 and "
                    + "distinct_sketch_k >= 1, got " + lastK + ", " + sessionGapMs + ", "
                    + distinctSketchK, "fix LAST_K / SESSION_GAP_MS / DISTINCT_SKETCH_K");
        }
        this.tileSizesMs = tileSizesMs.clone();
        this.retentionTiles = retentionTiles.clone();
        this.aggregates = List.copyOf(aggregates);
        this.lastK = lastK;
        this.lastKType = mask(lastKTypes);
        this.lifetimeType = mask(lifetimeTypes);
        this.sessionGapMs = sessionGapMs;
        this.distinctSketchK = distinctSketchK;
    }

    private static boolean[] mask(Set<EventType> types) {
        boolean[] m = new boolean[EventType.values().length];
        for (EventType t : types) {
            m[t.ordinal()] = true;
        }
        return m;
    }

    static FeatureSpec parse(SpecReader r) {
        String fixW = WINDOWS;
        List<JsonNode> sizes = r.array("tile_sizes_ms", fixW);
        long[] g = new long[sizes.size()];
        for (int i = 0; i < g.length; i++) {
            g[i] = SpecReader.integerNode(sizes.get(i), r.path("tile_sizes_ms") + "[" + i + "]", 1,
                    Long.MAX_VALUE, fixW);
        }
        List<JsonNode> ret = r.array("retention_tiles", SpecReader.REGENERATE);
        int[] rt = new int[ret.size()];
        for (int i = 0; i < rt.length; i++) {
            rt[i] = (int) SpecReader.integerNode(ret.get(i), r.path("retention_tiles") + "[" + i
                    + "]", 1, Integer.MAX_VALUE, fixW);
        }
        List<AggregateSpec> aggs = new ArrayList<>();
        List<JsonNode> an = r.array("aggregates", "fix TILE_AGGREGATES in userpulse/features.py");
        for (int i = 0; i < an.size(); i++) {
            aggs.add(AggregateSpec.parse(an.get(i), r.path("aggregates") + "[" + i + "]"));
        }
        return new FeatureSpec(g, rt, aggs,
                (int) r.integer("last_k", 0, Integer.MAX_VALUE, "fix LAST_K"),
                types(r, "last_k_types"), types(r, "lifetime_types"),
                r.integer("session_gap_ms", 1, Long.MAX_VALUE, "fix SESSION_GAP_MS"),
                (int) r.integer("distinct_sketch_k", 1, Integer.MAX_VALUE,
                        "fix DISTINCT_SKETCH_K"));
    }

    private static Set<EventType> types(SpecReader r, String key) {
        Set<EventType> out = EnumSet.noneOf(EventType.class);
        List<JsonNode> xs = r.array(key, "fix STATE_FEATURES in userpulse/features.py");
        for (int i = 0; i < xs.size(); i++) {
            String p = r.path(key) + "[" + i + "]";
            String name = SpecReader.stringNode(xs.get(i), p, false, SpecReader.REGENERATE);
            try {
                out.add(AggregateSpec.eventType(name));
            } catch (IllegalArgumentException e) {
                throw SpecReader.fail(p, e.getMessage(), "fix STATE_FEATURES");
            }
        }
        return out;
    }

    /** How many tile sizes (slots). */
    public int tileSizeCount() {
        return tileSizesMs.length;
    }

    /** Tile size of {@code slot}, ms. */
    public long tileSizeMs(int slot) {
        return tileSizesMs[slot];
    }

    /** Every tile size, ms, ascending (a copy). */
    public long[] tileSizesMs() {
        return tileSizesMs.clone();
    }

    /**
     * The slot of a tile size.
     *
     * @param tileMs a tile size, ms
     * @throws IllegalArgumentException when the spec has no such tile size
     */
    public int slotOf(long tileMs) {
        for (int i = 0; i < tileSizesMs.length; i++) {
            if (tileSizesMs[i] == tileMs) {
                return i;
            }
        }
        throw new IllegalArgumentException("no tile size " + tileMs + " ms in the spec: "
                + Arrays.toString(tileSizesMs));
    }

    /** Tiles of {@code slot} the longest window using that size spans. */
    public int retentionTiles(int slot) {
        return retentionTiles[slot];
    }

    /** The tile aggregates, in tile value order (unmodifiable). */
    public List<AggregateSpec> aggregates() {
        return aggregates;
    }

    /** Length of the last-k lists. */
    public int lastK() {
        return lastK;
    }

    /** True when events of {@code t} (with an item id) enter a last-k list. */
    public boolean isLastKType(EventType t) {
        return lastKType[t.ordinal()];
    }

    /** True when events of {@code t} have a lifetime count. */
    public boolean isLifetimeType(EventType t) {
        return lifetimeType[t.ordinal()];
    }

    /** Event types with a last-k list. */
    public Set<EventType> lastKTypes() {
        return types(lastKType);
    }

    /** Event types with a lifetime count. */
    public Set<EventType> lifetimeTypes() {
        return types(lifetimeType);
    }

    private static Set<EventType> types(boolean[] m) {
        Set<EventType> out = EnumSet.noneOf(EventType.class);
        for (EventType t : EventType.values()) {
            if (m[t.ordinal()]) {
                out.add(t);
            }
        }
        return Collections.unmodifiableSet(out);
    }

    /** Session inactivity gap, ms. */
    public long sessionGapMs() {
        return sessionGapMs;
    }

    /** KMV sketch size k of distinct aggregates. */
    public int distinctSketchK() {
        return distinctSketchK;
    }

    @Override
    public String toString() {
        return "FeatureSpec{tiles=" + Arrays.toString(tileSizesMs) + " retention="
                + Arrays.toString(retentionTiles) + " aggregates=" + aggregates.size() + " lastK="
                + lastK + " lastKTypes=" + lastKTypes() + " lifetimeTypes=" + lifetimeTypes()
                + " sessionGapMs=" + sessionGapMs + " k=" + distinctSketchK + "}";
    }
}
