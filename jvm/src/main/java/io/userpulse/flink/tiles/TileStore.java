package io.userpulse.flink.tiles;

/**
 * A user's older tiles (every tile but the newest of each size, which live in the {@link Head}):
 * a map from {@link TileKeys packed key} to tile, backed by Flink {@code MapState<Long, Tile>} in
 * the job and by {@link MapTileStore} in tests ({@code userpulse/tilestate.TileMap}).
 *
 * <p>{@link TileState} puts a tile back after changing it, so a store may hand out copies
 * (RocksDB) or the stored objects (heap).
 */
public interface TileStore {

    /** The tile under {@code key}, or null. */
    Tile get(long key) throws Exception;

    /** Stores {@code tile} under {@code key}. */
    void put(long key, Tile tile) throws Exception;

    /** Removes the tile under {@code key} (nothing when absent). */
    void remove(long key) throws Exception;

    /** The keys held (callers copy them before removing). */
    Iterable<Long> keys() throws Exception;
}
