package io.userpulse.flink.decode;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A map that keeps at most {@code capacity} entries, dropping the least recently used one (a
 * {@link LinkedHashMap} in access order; its documented LRU recipe). Not thread-safe.
 *
 * @param <K> key
 * @param <V> value
 */
final class BoundedCache<K, V> extends LinkedHashMap<K, V> {

    private static final long serialVersionUID = 1L;

    private final int capacity;

    /**
     * @param capacity the most entries kept, >= 1
     * @throws IllegalArgumentException if {@code capacity < 1}
     */
    BoundedCache(int capacity) {
        super(16, 0.75f, true);
        if (capacity < 1) {
            throw new IllegalArgumentException("cache capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
    }

    @Override
    protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > capacity;
    }
}
