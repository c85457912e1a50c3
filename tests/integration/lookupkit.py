"""Helpers of the lookup tests: write users' features the way the job does, as the job user."""

from __future__ import annotations

from collections.abc import Iterable

from sinks.redis_writer import TileWriter
from userpulse import redis_conn
from userpulse.events import Event, EventType
from userpulse.features import TILE_SIZES_MS
from userpulse.profile import Profile, fold, revive
from userpulse.settings import Settings
from userpulse.tiles import TileValue, add_event, empty_tile

T0 = 1717243200000  # 2024-06-01T12:00:00Z


def sample_events(user: str, t0_ms: int = T0) -> list[Event]:
    """3 clicks, 2 hovers (dwell 100 + 250 ms), 1 scroll (depth 0.5) within 10 s after t0."""
    e = [
        Event(f"{user}-c{i}", EventType.CLICK, user, t0_ms + 1_000 * i, "s", item_id=f"i{i}")
        for i in range(3)
    ]
    e += [
        Event(f"{user}-h0", EventType.HOVER, user, t0_ms + 4_000, "s", item_id="i9", dwell_ms=100),
        Event(f"{user}-h1", EventType.HOVER, user, t0_ms + 5_000, "s", item_id="i9", dwell_ms=250),
        Event(f"{user}-s0", EventType.SCROLL, user, t0_ms + 9_000, "s", scroll_depth=0.5),
    ]
    return e


def write_events(settings: Settings, events: Iterable[Event], lateness_ms: int = 600_000) -> None:
    """Fold in-order ``events`` into tiles and profiles and write them with the job's
    :class:`TileWriter`, connected as the job ACL user.

    Raises:
        redis.exceptions.NoPermissionError: the job user lacks a permission the writer needs.
    """
    tiles: dict[tuple[str, int, int], TileValue] = {}
    profiles: dict[str, Profile] = {}
    w = TileWriter(redis_conn.connect(settings, "job"))
    for e in sorted(events, key=lambda x: x.event_time_ms):
        for g in TILE_SIZES_MS:
            add_event(tiles.setdefault((e.user_id, g, e.event_time_ms // g), empty_tile()), e)
        p = profiles.get(e.user_id) or profiles.setdefault(e.user_id, revive(None, e))
        fold(p, e, e.event_time_ms - 5_000, lateness_ms)
        w.stage_last_seen(e.user_id, e.event_time_ms)
    for (u, g, k), v in tiles.items():
        w.stage_tile(u, g, k, v)
    for u, p in profiles.items():
        w.stage_profile(u, p)
    w.flush()
