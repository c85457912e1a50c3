package io.userpulse.flink.operator;

import io.userpulse.flink.tiles.Tile;
import io.userpulse.flink.tiles.TileStore;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.state.MapState;

/**
 * {@link TileStore} over the keyed {@code MapState<Long, Tile>} of the current user (keys packed
 * by {@link io.userpulse.flink.tiles.TileKeys}).
 */
final class MapStateTileStore implements TileStore {

    private final MapState<Long, Tile> state;

    MapStateTileStore(MapState<Long, Tile> state) {
        this.state = state;
    }

    @Override
    public Tile get(long key) throws Exception {
        return state.get(key);
    }

    @Override
    public void put(long key, Tile tile) throws Exception {
        state.put(key, tile);
    }

    @Override
    public void remove(long key) throws Exception {
        state.remove(key);
    }

    @Override
    public Iterable<Long> keys() throws Exception {
        List<Long> out = new ArrayList<>();
        for (Long k : state.keys()) {
            out.add(k);
        }
        return out;
    }

    /** Removes every tile of the current user. */
    void clear() {
        state.clear();
    }
}
