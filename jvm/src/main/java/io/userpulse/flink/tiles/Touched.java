package io.userpulse.flink.tiles;

/**
 * The tiles one event touched ({@code fold_event}'s list of {@code (tile_ms, index, value)}):
 * exactly one per tile size, entry i for slot i. Reused across events by the caller (allocate once
 * with {@link TileState#newTouched()}); the tiles are the state's own objects, whose absolute
 * values are what the sink writes.
 */
public final class Touched {

    private final long[] tileMs;
    private final long[] index;
    private final Tile[] tiles;

    Touched(int slots) {
        tileMs = new long[slots];
        index = new long[slots];
        tiles = new Tile[slots];
    }

    void set(int slot, long g, long k, Tile t) {
        tileMs[slot] = g;
        index[slot] = k;
        tiles[slot] = t;
    }

    /** Number of entries (the number of tile sizes). */
    public int size() {
        return tiles.length;
    }

    /** Tile size of entry {@code i}, ms. */
    public long tileMs(int i) {
        return tileMs[i];
    }

    /** Tile index of entry {@code i}. */
    public long index(int i) {
        return index[i];
    }

    /** The tile of entry {@code i} (after the event). */
    public Tile tile(int i) {
        return tiles[i];
    }
}
