"""Pre-merged "as of now" window values (design section 4, issue 16), pure functions.

A window W (tiles of size g) as of t covers the tiles ``[floor(t/g) - W/g + 1, floor(t/g)]``
(:func:`userpulse.tiles.window_tiles`). Given a user's tiles, the merge of that window stays the
same for every t in ``[T, valid_until)``, where ``valid_until`` is the earlier of

- the exit time of the oldest stored tile inside the window as of T: ``(k_oldest + W/g) * g``
  (from then on the window no longer covers it), and
- the entry time of the nearest stored tile ahead of the window as of T: ``k_future * g``
  (events with an event time after T, e.g. a device clock ahead).

Without either (no tile inside, none ahead) the value holds until the user's tiles change,
which rewrites it (``valid_until`` None). So the writer can keep, per user and window, the merged
tile as of T with its ``valid_until``, and a lookup as of any t in ``[T, valid_until)`` can use it
instead of merging the window's tiles: the same value by construction. Every stored tile counts,
also one with ``n = 0`` (that only shortens the validity, never makes it wrong).

Used by the seed (:mod:`userpulse.sinks.seed`), the lookup benchmark's refresher and the tests;
the JVM job computes the same (``io.userpulse.flink.tiles.Premerge``, pinned against this module
by the golden vectors of ``tests/unit/jvm_vectors.py``). Layout of the stored fields:
:mod:`userpulse.layout` (``m``, ``w:<window_ms>``) and ``docs/key-layout.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from userpulse import layout
from userpulse.features import AS_OF_RESOLUTION_MS, TILE_SIZES_MS, WINDOWS, Window
from userpulse.tiles import TileValue, merge_tiles, window_tiles

PREMERGED_WINDOWS: tuple[Window, ...] = tuple(
    max((w for w in WINDOWS if w.tile_ms == g), key=lambda w: w.window_ms) for g in TILE_SIZES_MS
)
"""The windows kept pre-merged: per tile size, the longest window of that size (``retention_tiles
(g) * g``, which a writer can derive from the job spec alone). Today that is every window; a
lookup of a window that is not kept takes the full path."""


class WindowValue(NamedTuple):
    """One window's merged tile as of T and until when it holds.

    Attributes:
        valid_until_ms: the first lookup time (UTC epoch ms) the value no longer holds for, or
            None (it holds until the user's tiles change).
        tile: the merge of the window's tiles as of T (:func:`userpulse.tiles.merge_tiles`).
    """

    valid_until_ms: int | None
    tile: TileValue


def valid_until(indices: Sequence[int], as_of_ms: int, window: Window) -> int | None:
    """Until when (UTC epoch ms, exclusive) the window's merge as of ``as_of_ms`` holds, given
    the stored tile indices of size ``window.tile_ms`` (any order); None: no bound."""
    g = window.tile_ms
    first, last = window_tiles(as_of_ms, window.window_ms, g)
    inside = [k for k in indices if first <= k <= last]
    ahead = [k for k in indices if k > last]
    bounds = []
    if inside:
        bounds.append((min(inside) + window.tiles) * g)
    if ahead:
        bounds.append(min(ahead) * g)
    return min(bounds, default=None)


def premerge(
    tiles: Mapping[tuple[int, int], TileValue],
    as_of_ms: int,
    windows: Sequence[Window] = PREMERGED_WINDOWS,
) -> dict[int, WindowValue]:
    """Each window's merged tile as of ``as_of_ms`` and its validity.

    Args:
        tiles: the user's stored tiles, ``(tile_ms, index) -> tile value``.
        as_of_ms: T, UTC epoch ms.
        windows: the windows (default: :data:`PREMERGED_WINDOWS`).

    Returns:
        ``window_ms -> WindowValue``, one per window (an empty window merges to
        :func:`userpulse.tiles.empty_tile`).
    """
    out: dict[int, WindowValue] = {}
    for w in windows:
        g = w.tile_ms
        first, last = window_tiles(as_of_ms, w.window_ms, g)
        indices = [k for tg, k in tiles if tg == g]
        merged = merge_tiles(tiles[(g, k)] for k in sorted(indices) if first <= k <= last)
        out[w.window_ms] = WindowValue(valid_until(indices, as_of_ms, w), merged)
    return out


def next_refresh(values: Mapping[int, WindowValue]) -> int | None:
    """When the earliest window value stops holding (UTC epoch ms), or None: the time a writer
    refreshes the user's pre-merged values."""
    bounds = [v.valid_until_ms for v in values.values() if v.valid_until_ms is not None]
    return min(bounds, default=None)


def events_folded(tiles: Mapping[tuple[int, int], TileValue], profile_version: int | None) -> int:
    """The version ``<events>`` of the pre-merged fields: the profile's version (events folded
    into the user's state) when there is a profile, else the events of the user's stored 1 s
    tiles (``n`` summed)."""
    if profile_version is not None:
        return int(profile_version)
    return sum(int(v[0] or 0) for (g, _), v in tiles.items() if g == AS_OF_RESOLUTION_MS)


def fields(
    tiles: Mapping[tuple[int, int], TileValue], events: int, as_of_ms: int
) -> tuple[dict[str, str], int | None]:
    """The pre-merged fields of the tile hash as of ``as_of_ms`` (``m`` and one ``w:<window_ms>``
    per window, encoded by :mod:`userpulse.layout`) and when to refresh them
    (:func:`next_refresh`)."""
    values = premerge(tiles, as_of_ms)
    out = {layout.META_PREMERGED: layout.encode_premerged_meta(events, as_of_ms)}
    for w, v in values.items():
        out[layout.premerged_field(w)] = layout.encode_window(v.valid_until_ms, v.tile)
    return out, next_refresh(values)
