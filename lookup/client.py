"""Lookup client: merges a user's tiles into sliding-window values as of a time (design 4, 7).

``get(user_id, features=None, as_of=None)`` and ``get_many(user_ids, ...)`` read every key they
need in one pipelined round trip, then merge, in Python, the tiles that fall in each window as of
``as_of`` (UTC epoch ms; default: now). Each feature comes back with a :class:`Status` and the
newest event time behind it. A window whose tiles have been pruned is ``out_of_retention`` with no
value: a lookup never returns a wrong number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

import redis

from sinks import layout
from userpulse.features import (
    FEATURE_NAMES,
    FEATURES_BY_NAME,
    LAST_SEEN,
    LAST_SEEN_RESOLUTION_MS,
    TILE_AGGREGATES,
)
from userpulse.tiles import IDX_MAX_TIME, TileValue, merge_tiles, window_tiles

_AGG_INDEX = {a.name: i for i, a in enumerate(TILE_AGGREGATES, start=1)}


class Status(str, Enum):
    """Status of one feature value."""

    PRESENT = "present"
    NOT_FOUND = "not_found"
    OUT_OF_RETENTION = "out_of_retention"


@dataclass(frozen=True)
class FeatureResult:
    """One feature of one user.

    Attributes:
        value: the value (counts/sums 0 for an empty window, max None), None unless PRESENT.
        status: PRESENT, NOT_FOUND (no data for the user) or OUT_OF_RETENTION.
        newest_event_time_ms: newest event (any type) in the tiles merged, UTC epoch ms, or None.
    """

    value: int | float | None
    status: Status
    newest_event_time_ms: int | None


class FeatureClient:
    """Reads features from Redis.

    Args:
        client: a ``redis.Redis`` connected to the online store.
        clock_ms: injectable clock returning UTC epoch ms (the default ``as_of``).
    """

    def __init__(
        self, client: redis.Redis, clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)
    ) -> None:
        self._r = client
        self._clock_ms = clock_ms

    @classmethod
    def from_url(cls, url: str) -> FeatureClient:
        """A client for ``redis://host:port/db``."""
        return cls(redis.Redis.from_url(url))

    @staticmethod
    def _validate(features: Sequence[str] | None) -> list[str]:
        names = list(features) if features is not None else list(FEATURE_NAMES)
        unknown = [n for n in names if n not in FEATURES_BY_NAME and n != LAST_SEEN]
        if unknown:
            raise ValueError(f"unknown features {unknown}; known: {', '.join(FEATURE_NAMES)}")
        return names

    def get(
        self, user_id: str, features: Sequence[str] | None = None, as_of: int | None = None
    ) -> dict[str, FeatureResult]:
        """Features of one user as of ``as_of`` (UTC epoch ms; None = now).

        Raises:
            ValueError: an unknown feature name.
            redis.exceptions.RedisError: Redis unreachable.
        """
        return self.get_many([user_id], features, as_of)[user_id]

    def get_many(
        self,
        user_ids: Iterable[str],
        features: Sequence[str] | None = None,
        as_of: int | None = None,
    ) -> dict[str, dict[str, FeatureResult]]:
        """Features of many users in one pipelined round trip; same arguments as :meth:`get`."""
        names = self._validate(features)
        t = self._clock_ms() if as_of is None else int(as_of)
        users = list(dict.fromkeys(user_ids))
        pipe = self._r.pipeline(transaction=False)
        for u in users:
            pipe.hgetall(layout.user_key(u))
        replies = pipe.execute()
        return {u: _features_for(names, t, h) for u, h in zip(users, replies, strict=True)}


def _split(
    h: dict[bytes, bytes],
) -> tuple[int | None, dict[int, int], dict[int, dict[int, TileValue]]]:
    """last seen, pruned marks by tile size, tiles by tile size of one user's hash."""
    last_seen: int | None = None
    pruned: dict[int, int] = {}
    tiles: dict[int, dict[int, TileValue]] = {}
    for f, v in h.items():
        kind, g, k = layout.parse_field(f.decode())
        if kind == "t":
            tiles.setdefault(g, {})[k] = layout.decode_tile(v)
        elif kind == "p":
            pruned[g] = int(v)
        else:
            last_seen = int(v)
    return last_seen, pruned, tiles


def _features_for(names: list[str], t: int, h: dict[bytes, bytes]) -> dict[str, FeatureResult]:
    if not h:
        return {n: FeatureResult(None, Status.NOT_FOUND, None) for n in names}
    last_seen, pruned, tiles = _split(h)
    out: dict[str, FeatureResult] = {}
    merged_cache: dict[tuple[int, int], TileValue | None] = {}
    for n in names:
        if n == LAST_SEEN:
            out[n] = _last_seen(t, last_seen, tiles.get(LAST_SEEN_RESOLUTION_MS, {}), pruned)
            continue
        f = FEATURES_BY_NAME[n]
        g = f.window.tile_ms
        key = (g, f.window.window_ms)
        if key not in merged_cache:
            first, last = window_tiles(t, f.window.window_ms, g)
            if first <= pruned.get(g, first - 1):
                merged_cache[key] = None
            else:
                ts = tiles.get(g, {})
                merged_cache[key] = merge_tiles(v for k, v in ts.items() if first <= k <= last)
        m = merged_cache[key]
        if m is None:
            out[n] = FeatureResult(None, Status.OUT_OF_RETENTION, None)
            continue
        mt = m[IDX_MAX_TIME]
        value = m[_AGG_INDEX[f.aggregate.name]]
        out[n] = FeatureResult(value, Status.PRESENT, None if mt is None else int(mt))
    return out


def _last_seen(
    t: int, ls: int | None, tiles_1s: dict[int, TileValue], pruned: dict[int, int]
) -> FeatureResult:
    g = LAST_SEEN_RESOLUTION_MS
    end = (t // g + 1) * g
    if ls is not None and ls < end:
        return FeatureResult(ls, Status.PRESENT, ls)
    # the newest event is after t: answer from the retained 1 s tiles before t's end
    last = t // g
    if last <= pruned.get(g, last - 1):
        return FeatureResult(None, Status.OUT_OF_RETENTION, None)
    cands = [
        int(v[IDX_MAX_TIME] or 0) for k, v in tiles_1s.items() if k <= last and v[IDX_MAX_TIME]
    ]
    if cands:
        best = max(cands)
        return FeatureResult(best, Status.PRESENT, best)
    oldest = min(tiles_1s) if tiles_1s else None
    if oldest is not None and pruned.get(g) is None:
        # nothing pruned yet and no tile up to t: the user had no event up to t
        return FeatureResult(None, Status.PRESENT, None)
    return FeatureResult(None, Status.OUT_OF_RETENTION, None)
