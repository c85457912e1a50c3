"""Window features as of many times at once, from tiles built the way the job builds them.

For each tile size g of :data:`userpulse.features.WINDOWS`, the sorted events are cut into tiles
``(user, k = floor(event_time_ms / g))`` and every :data:`~userpulse.features.TILE_AGGREGATES`
entry is folded per tile by its ``kind``: ``count`` / ``sum`` add, ``max`` takes the maximum,
``distinct`` keeps the tile's KMV sketch (the :data:`~userpulse.features.DISTINCT_SKETCH_K`
smallest distinct :func:`userpulse.sketch.value_hash` values). A window W as of t then merges the
tiles with index in ``[floor(t/g) - W/g + 1, floor(t/g)]`` (design section 4;
:func:`userpulse.tiles.window_tiles`) exactly as :func:`userpulse.tiles.merge_tiles` does: integer
counts and sums by prefix sums, maxima and float sums per range, sketches by the union's k smallest
hashes and :func:`userpulse.sketch.estimate`. Times are UTC epoch ms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from userpulse.backfill.columns import EVENT_TYPES, EventColumns
from userpulse.backfill.distinct import tile_sketches, window_distinct
from userpulse.backfill.keys import KeyIndex, chunks, gather
from userpulse.features import TILE_AGGREGATES, TileAggregate, Window

CHUNK_ROWS = 4_000_000
"""Rows gathered at once when merging maxima and sketches over ranges (bounds peak memory)."""
Column = tuple[np.ndarray, np.ndarray]
"""(values, valid mask) of one aggregate per query."""


@dataclass
class Tiles:
    """The tiles of one size ``tile_ms`` (rows sorted by ``(user, k)``).

    Attributes:
        tile_ms: tile size g in ms.
        index: keys of the tiles (:class:`KeyIndex` over user and tile index k).
        values: per aggregate name, the per-tile value (count, sum or max; max has a sentinel
            where ``has`` is 0).
        has: per aggregate name, how many events fed the tile's value.
        sketch_ptr, sketch_keys: per ``distinct`` aggregate, the tiles' sketches stored one
            after the other (:func:`userpulse.backfill.distinct.tile_sketches`).
    """

    tile_ms: int
    index: KeyIndex
    values: dict[str, np.ndarray] = field(default_factory=dict)
    has: dict[str, np.ndarray] = field(default_factory=dict)
    sketch_ptr: dict[str, np.ndarray] = field(default_factory=dict)
    sketch_keys: dict[str, np.ndarray] = field(default_factory=dict)


def _selected(ev: EventColumns, agg: TileAggregate) -> np.ndarray:
    if agg.event_type is None:
        return np.ones(len(ev), dtype=bool)
    return np.asarray(ev.etype == EVENT_TYPES.index(agg.event_type))


def _sentinel(dtype: np.dtype) -> float | int:
    return -np.inf if dtype.kind == "f" else np.iinfo(np.int64).min


def build_tiles(ev: EventColumns, tile_ms: int, aggregates: list[TileAggregate]) -> Tiles:
    """Fold the events into tiles of ``tile_ms`` for ``aggregates`` (events must be non-empty)."""
    k = ev.time_ms // tile_ms
    boundary = np.ones(len(ev), dtype=bool)
    boundary[1:] = (ev.user[1:] != ev.user[:-1]) | (k[1:] != k[:-1])
    starts = np.flatnonzero(boundary)
    tiles = Tiles(tile_ms, KeyIndex(ev.user[starts], k[starts], len(ev.user_ids)))
    for agg in aggregates:
        sel = _selected(ev, agg)
        if agg.kind == "count":
            tiles.values[agg.name] = np.add.reduceat(sel.astype(np.int64), starts)
            continue
        if agg.kind == "distinct":
            tiles.sketch_ptr[agg.name], tiles.sketch_keys[agg.name] = tile_sketches(
                ev.hashes[agg.field or ""], sel, np.cumsum(boundary) - 1, len(starts)
            )
            continue
        vals, valid = ev.values[agg.field or ""]
        m = sel & valid
        tiles.has[agg.name] = np.add.reduceat(m.astype(np.int64), starts)
        if agg.kind == "sum":
            tiles.values[agg.name] = np.add.reduceat(np.where(m, vals, 0), starts)
        else:
            fill = _sentinel(vals.dtype)
            tiles.values[agg.name] = np.maximum.reduceat(np.where(m, vals, fill), starts)
    return tiles


def _prefix(x: np.ndarray) -> np.ndarray:
    out = np.zeros(len(x) + 1, dtype=x.dtype)
    np.cumsum(x, out=out[1:])
    return out


def _segments(ufunc: np.ufunc, vals: np.ndarray, offsets: np.ndarray, fill: float | int) -> Any:
    lengths = np.diff(offsets)
    out = np.full(len(lengths), fill, dtype=vals.dtype)
    nz = lengths > 0
    if vals.size:
        out[nz] = ufunc.reduceat(vals, offsets[:-1][nz])
    return out


def _ranged(
    lo: np.ndarray, hi: np.ndarray, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """``fn(lo, hi)`` over chunks of queries bounded by :data:`CHUNK_ROWS` tiles."""
    parts = [fn(lo[a:b], hi[a:b]) for a, b in chunks(np.maximum(hi - lo, 0), CHUNK_ROWS)]
    return np.concatenate(parts) if parts else np.zeros(0)


def _range_reduce(values: np.ndarray, ufunc: np.ufunc, fill: float | int) -> Callable[..., Any]:
    def fn(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        idx, offsets = gather(lo, hi)
        return np.asarray(_segments(ufunc, values[idx], offsets, fill))

    return fn


def window_aggregates(
    tiles: Tiles, window: Window, q_user: np.ndarray, q_k: np.ndarray, names: list[str]
) -> dict[str, Column]:
    """Merged aggregates ``names`` of ``window`` for queries (user code, tile index k of t).

    Returns:
        Per aggregate name, (value, valid) per query: counts and sums are always valid (0 when
        empty), a max is invalid when no event fed it, a distinct count is the sketch estimate.
    """
    lo = tiles.index.first_at_or_after(q_user, q_k - window.tiles + 1)
    hi = tiles.index.first_at_or_after(q_user, q_k + 1)
    out: dict[str, Column] = {}
    for agg in TILE_AGGREGATES:
        if agg.name not in names:
            continue
        ok = np.ones(len(q_user), dtype=bool)
        if agg.kind == "distinct":
            ptr, keys = tiles.sketch_ptr[agg.name], tiles.sketch_keys[agg.name]
            out[agg.name] = (window_distinct(ptr, keys, lo, hi, CHUNK_ROWS), ok)
            continue
        vals = tiles.values[agg.name]
        if agg.kind == "count" or (agg.kind == "sum" and vals.dtype.kind in "iu"):
            pre = _prefix(vals)
            out[agg.name] = (pre[hi] - pre[lo], ok)
            continue
        has = _prefix(tiles.has[agg.name])
        if agg.kind == "sum":  # float sums add per range in tile order, like merge_tiles
            merged = _ranged(lo, hi, _range_reduce(vals, np.add, 0))
            out[agg.name] = (merged.astype(vals.dtype), ok)
        else:
            fn = _range_reduce(vals, np.maximum, _sentinel(vals.dtype))
            merged = _ranged(lo, hi, fn).astype(vals.dtype)
            out[agg.name] = (merged, has[hi] - has[lo] > 0)
    return out
