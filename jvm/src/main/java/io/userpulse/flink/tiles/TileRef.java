package io.userpulse.flink.tiles;

/**
 * One tile a user holds ({@code all_tiles}' {@code (tile_ms, index, value)}).
 *
 * @param slot the tile size's position in the spec
 * @param tileMs tile size, ms
 * @param index tile index (event time ms floor-divided by the tile size)
 * @param tile the tile
 */
public record TileRef(int slot, long tileMs, long index, Tile tile) {}
