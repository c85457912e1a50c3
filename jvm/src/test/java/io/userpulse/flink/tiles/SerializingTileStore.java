package io.userpulse.flink.tiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/** A TileStore that keeps bytes (like RocksDB): every get is a fresh copy, every put a write. */
final class SerializingTileStore implements TileStore {

    private final Map<Long, byte[]> map = new HashMap<>();

    static byte[] bytes(Tile t) {
        try {
            DataOutputSerializer out = new DataOutputSerializer(64);
            TileSerializer.INSTANCE.serialize(t, out);
            return out.getCopyOfBuffer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Tile tile(byte[] b) {
        try {
            return TileSerializer.INSTANCE.deserialize(new DataInputDeserializer(b));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Tile get(long key) {
        byte[] b = map.get(key);
        return b == null ? null : tile(b);
    }

    @Override
    public void put(long key, Tile tile) {
        map.put(key, bytes(tile));
    }

    @Override
    public void remove(long key) {
        map.remove(key);
    }

    @Override
    public Iterable<Long> keys() {
        return new ArrayList<>(map.keySet());
    }

    int size() {
        return map.size();
    }
}
