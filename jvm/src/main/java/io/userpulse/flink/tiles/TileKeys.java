package io.userpulse.flink.tiles;

/**
 * Keys of the older-tiles map ({@link TileStore}): a tile (slot, index) packed in one long, so a
 * Flink {@code MapState<Long, Tile>} can use the built-in {@code LongSerializer}. The slot (the
 * tile size's position in the spec's ascending tile sizes, 0..254) is the low 8 bits; the tile
 * index (event time ms floor-divided by the tile size) the high 56 bits, signed.
 *
 * <p>Slots follow the catalogue: state written with one list of tile sizes is read with the same
 * list (as the Python job's tile layout, a catalogue change needs fresh state).
 */
public final class TileKeys {

    /** Largest tile index a key holds (2^55 - 1). */
    public static final long MAX_INDEX = (1L << 55) - 1;
    /** Smallest tile index a key holds (-2^55). */
    public static final long MIN_INDEX = -(1L << 55);

    private TileKeys() {}

    /**
     * The key of tile {@code index} of the tile size in {@code slot}.
     *
     * @throws IllegalArgumentException slot outside 0..254, index outside MIN_INDEX..MAX_INDEX
     */
    public static long pack(int slot, long index) {
        if (slot < 0 || slot > 254 || index < MIN_INDEX || index > MAX_INDEX) {
            throw new IllegalArgumentException("tile key out of range: slot " + slot + ", index "
                    + index);
        }
        return (index << 8) | slot;
    }

    /** The slot of a key. */
    public static int slot(long key) {
        return (int) (key & 0xFF);
    }

    /** The tile index of a key. */
    public static long index(long key) {
        return key >> 8;
    }
}
