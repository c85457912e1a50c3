"""Tile and window arithmetic (design section 4), pure functions.

Tile k of size g holds event times ``[k*g, (k+1)*g)``. The window W as of t covers the W/g most
recent whole tiles up to and including the tile that contains t: event times in
``[(floor(t/g) - W/g + 1)*g, (floor(t/g) + 1)*g)``. All times are UTC epoch ms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from userpulse import sketch
from userpulse.events import Event, EventType
from userpulse.features import TILE_AGGREGATES, TileAggregate

# Tile value layout: [n, agg_1, ..., agg_k, max_event_time_ms]. ``n`` counts every event added to
# the tile; it only grows, so it doubles as the tile's version (an older write has a smaller n).
N_AGGS = len(TILE_AGGREGATES)
IDX_MAX_TIME = N_AGGS + 1

TileValue = list[Any]
"""[n (int), one value per aggregate (int / float / None; a sorted hash list for ``distinct``),
max event time ms (int or None)]."""


def tile_index(event_time_ms: int, tile_ms: int) -> int:
    """Index k of the tile of size ``tile_ms`` containing ``event_time_ms`` (floor division)."""
    return event_time_ms // tile_ms


def window_tiles(as_of_ms: int, window_ms: int, tile_ms: int) -> tuple[int, int]:
    """First and last tile index (both inclusive) of the window ``window_ms`` as of ``as_of_ms``."""
    last = as_of_ms // tile_ms
    return last - window_ms // tile_ms + 1, last


def window_bounds(as_of_ms: int, window_ms: int, tile_ms: int) -> tuple[int, int]:
    """Event-time bounds ``[start, end)`` in ms of the window as of ``as_of_ms``."""
    first, last = window_tiles(as_of_ms, window_ms, tile_ms)
    return first * tile_ms, (last + 1) * tile_ms


def empty_tile() -> TileValue:
    """A tile with no events."""
    return [0, *(_empty_value(a) for a in TILE_AGGREGATES), None]


def _empty_value(agg: TileAggregate) -> Any:
    if agg.kind == "max":
        return None
    if agg.kind == "distinct":
        return []
    return 0


def add_event(
    tile: TileValue, event: Event, aggregates: Sequence[TileAggregate] = TILE_AGGREGATES
) -> None:
    """Fold ``event`` into ``tile`` in place (an event of any type bumps ``n``)."""
    tile[0] = int(tile[0] or 0) + 1
    for i, agg in enumerate(aggregates, start=1):
        if agg.event_type is not None and agg.event_type is not event.event_type:
            continue
        if agg.kind == "count":
            tile[i] = int(tile[i] or 0) + 1
            continue
        v = getattr(event, agg.field or "")
        if v is None:
            continue
        if agg.kind == "sum":
            tile[i] = (tile[i] or 0) + v
        elif agg.kind == "distinct":
            sketch.add(tile[i], sketch.value_hash(v))
        else:
            cur = tile[i]
            tile[i] = v if cur is None or v > cur else cur
    mt = tile[IDX_MAX_TIME]
    if mt is None or event.event_time_ms > mt:
        tile[IDX_MAX_TIME] = event.event_time_ms


def merge_tiles(tiles: Iterable[TileValue]) -> TileValue:
    """Merge tiles into one partial aggregate: counts and sums add, maxima take the max,
    distinct sketches take the union."""
    out = empty_tile()
    sketches: dict[int, list[Any]] = {}
    for t in tiles:
        out[0] = int(out[0] or 0) + int(t[0] or 0)
        for i, agg in enumerate(TILE_AGGREGATES, start=1):
            v = t[i]
            if v is None:
                continue
            if agg.kind == "max":
                cur = out[i]
                out[i] = v if cur is None or v > cur else cur
            elif agg.kind == "distinct":
                sketches.setdefault(i, []).append(v)
            else:
                out[i] = (out[i] or 0) + v
        mt = t[IDX_MAX_TIME]
        if mt is not None and (out[IDX_MAX_TIME] is None or mt > out[IDX_MAX_TIME]):
            out[IDX_MAX_TIME] = mt
    for i, parts in sketches.items():
        out[i] = sketch.merge(parts)
    return out


__all__ = [
    "EventType",
    "IDX_MAX_TIME",
    "N_AGGS",
    "TileValue",
    "add_event",
    "empty_tile",
    "merge_tiles",
    "tile_index",
    "window_bounds",
    "window_tiles",
]
