"""Pure merge logic of lookups: one user's hash reply -> feature values as of t (design 4, 7).

Shared by every client variant (sync, asyncio, HTTP service): they fetch the user's hash and call
:func:`features_for`. No I/O here. A window whose tiles have been pruned is ``out_of_retention``
with no value: a lookup never returns a wrong number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

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


def validate(features: Sequence[str] | None) -> list[str]:
    """The feature names to compute (all when None).

    Raises:
        ValueError: an unknown feature name (the message lists the known ones).
    """
    names = list(features) if features is not None else list(FEATURE_NAMES)
    unknown = [n for n in names if n not in FEATURES_BY_NAME and n != LAST_SEEN]
    if unknown:
        raise ValueError(f"unknown features {unknown}; known: {', '.join(FEATURE_NAMES)}")
    return names


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


def features_for(names: list[str], t: int, h: dict[bytes, bytes]) -> dict[str, FeatureResult]:
    """Values of ``names`` as of ``t`` (UTC epoch ms) from one user's HGETALL reply.

    An empty reply means no data for the user: every feature is NOT_FOUND.
    """
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
