"""Per-user tile state, independent of the state backend (the job's keyed state, or a dict).

A user's state is a small :class:`Head` (the newest tile of every tile size, plus when the next
tile leaves retention) and a map of older tiles. In-order events only touch the head, so the job
reads and writes one value per event; a tile moves to the map when a newer one replaces it in the
head, and late-arriving events read and write the map.

Retention: tile k of size g may be dropped once the watermark passes
``(k+1)*g + (longest window using g) + allowed lateness``, rounded up to ``granularity_ms`` so
that many tiles share one cleanup timer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from userpulse.events import Event
from userpulse.features import TILE_SIZES_MS, retention_tiles
from userpulse.profile import Profile
from userpulse.tiles import TileValue, add_event, empty_tile

TileKey = tuple[int, int]
"""(tile_ms, tile index)."""


class TileMap(Protocol):
    """Older tiles of one user: a map (tile_ms, index) -> tile value."""

    def get(self, key: TileKey) -> TileValue | None: ...
    def put(self, key: TileKey, tile: TileValue) -> None: ...
    def remove(self, key: TileKey) -> None: ...
    def keys(self) -> Iterator[TileKey]: ...


@dataclass
class Head:
    """Newest tile per tile size (aligned with ``TILE_SIZES_MS``), the next cleanup time (ms), and
    the user's non-window :class:`~userpulse.profile.Profile` (one state value read per event)."""

    newest: list[tuple[int, TileValue] | None] = field(
        default_factory=lambda: [None] * len(TILE_SIZES_MS)
    )
    next_cleanup_ms: int | None = None
    profile: Profile = field(default_factory=Profile)


class Retention:
    """Cleanup times of tiles.

    Args:
        allowed_lateness_ms: the job's allowed lateness.
        granularity_ms: cleanup times are rounded up to a multiple of this (default 1 min).
    """

    def __init__(self, allowed_lateness_ms: int, granularity_ms: int = 60_000) -> None:
        self._keep_ms = {g: retention_tiles(g) * g + allowed_lateness_ms for g in TILE_SIZES_MS}
        self._gran = granularity_ms

    def cleanup_ms(self, tile_ms: int, index: int) -> int:
        """Watermark (event time, ms) at which tile ``index`` of size ``tile_ms`` may be dropped."""
        t = (index + 1) * tile_ms + self._keep_ms[tile_ms]
        return -(-t // self._gran) * self._gran


def fold_event(
    head: Head, older: TileMap, event: Event, retention: Retention
) -> tuple[list[tuple[int, int, TileValue]], int | None]:
    """Fold ``event`` into the user's tiles.

    Returns:
        The touched tiles as ``(tile_ms, index, value)`` (absolute values to write), and a new
        cleanup time to register as a timer (None when an earlier one is already pending).
    """
    touched: list[tuple[int, int, TileValue]] = []
    new_cleanup: int | None = None
    et = event.event_time_ms
    for i, g in enumerate(TILE_SIZES_MS):
        k = et // g
        cur = head.newest[i]
        if cur is not None and cur[0] == k:
            tile = cur[1]
        elif cur is None or k > cur[0]:
            if cur is not None:
                older.put((g, cur[0]), cur[1])
            tile = empty_tile()
            head.newest[i] = (k, tile)
            c = retention.cleanup_ms(g, k)
            if head.next_cleanup_ms is None or c < head.next_cleanup_ms:
                head.next_cleanup_ms = new_cleanup = c
        else:  # an older tile: out-of-order event
            got = older.get((g, k))
            tile = empty_tile() if got is None else got
            if got is None:
                c = retention.cleanup_ms(g, k)
                if head.next_cleanup_ms is None or c < head.next_cleanup_ms:
                    head.next_cleanup_ms = new_cleanup = c
        add_event(tile, event)
        if cur is not None and k < cur[0]:
            older.put((g, k), tile)
        touched.append((g, k, tile))
    return touched, new_cleanup


def expire(
    head: Head, older: TileMap, watermark_ms: int, retention: Retention
) -> tuple[dict[int, list[int]], int | None]:
    """Drop tiles whose cleanup time is <= ``watermark_ms``.

    Returns:
        Dropped tile indices by tile size, and the next cleanup time of what remains (None when
        the user holds no tile any more: the caller clears the state).
    """
    dropped: dict[int, list[int]] = {}
    nxt: int | None = None
    for key in list(older.keys()):
        g, k = key
        c = retention.cleanup_ms(g, k)
        if c <= watermark_ms:
            older.remove(key)
            dropped.setdefault(g, []).append(k)
        elif nxt is None or c < nxt:
            nxt = c
    for i, g in enumerate(TILE_SIZES_MS):
        cur = head.newest[i]
        if cur is None:
            continue
        c = retention.cleanup_ms(g, cur[0])
        if c <= watermark_ms:
            head.newest[i] = None
            dropped.setdefault(g, []).append(cur[0])
        elif nxt is None or c < nxt:
            nxt = c
    head.next_cleanup_ms = nxt
    return dropped, nxt


def all_tiles(head: Head, older: TileMap) -> Iterator[tuple[int, int, TileValue]]:
    """Every tile the user holds, as ``(tile_ms, index, value)``."""
    for key in list(older.keys()):
        tile = older.get(key)
        if tile is not None:
            yield key[0], key[1], tile
    for i, g in enumerate(TILE_SIZES_MS):
        cur = head.newest[i]
        if cur is not None:
            yield g, cur[0], cur[1]
