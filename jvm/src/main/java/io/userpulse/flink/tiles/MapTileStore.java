package io.userpulse.flink.tiles;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;

/** A {@link TileStore} over a {@link HashMap} (tests, tools; the job uses Flink MapState). */
public final class MapTileStore implements TileStore {

    private final Map<Long, Tile> map = new HashMap<>();

    @Override
    public Tile get(long key) {
        return map.get(key);
    }

    @Override
    public void put(long key, Tile tile) {
        map.put(key, tile);
    }

    @Override
    public void remove(long key) {
        map.remove(key);
    }

    @Override
    public Iterable<Long> keys() {
        return new ArrayList<>(map.keySet());
    }

    /** Tiles held. */
    public int size() {
        return map.size();
    }

    /** Removes every tile. */
    public void clear() {
        map.clear();
    }
}
