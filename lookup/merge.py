"""Pure merge logic of lookups: one user's stored values -> feature values as of t (design 4, 7).

Shared by every client variant (sync, asyncio, HTTP service). A client queues each user's reads
with :func:`queue_reads` (:data:`READS_PER_USER` commands on one pipeline; both keys share the
user's hash slot) and passes that user's replies, in order, to :func:`features_from_replies`.
No I/O here. A window whose tiles have been pruned, or a historical value the stored state cannot
answer exactly, is ``out_of_retention`` with no value: a lookup never returns a wrong number.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sinks import layout
from userpulse import sketch
from userpulse.features import (
    AS_OF_RESOLUTION_MS,
    FEATURE_NAMES,
    FEATURES_BY_NAME,
    LAST_K,
    SESSION_GAP_MS,
    STATE_FEATURES_BY_NAME,
    TILE_AGGREGATES,
    Derived,
    StateFeature,
    WindowFeature,
)
from userpulse.tiles import IDX_MAX_TIME, TileValue, empty_tile, merge_tiles, window_tiles

_AGG_INDEX = {a.name: i for i, a in enumerate(TILE_AGGREGATES, start=1)}
_DISTINCT = frozenset(a.name for a in TILE_AGGREGATES if a.kind == "distinct")
READS_PER_USER = 2
"""Commands :func:`queue_reads` queues per user (HGETALL of the tiles, GET of the profile)."""


class Status(str, Enum):
    """Status of one feature value."""

    PRESENT = "present"
    NOT_FOUND = "not_found"
    OUT_OF_RETENTION = "out_of_retention"


@dataclass(frozen=True)
class FeatureResult:
    """One feature of one user.

    Attributes:
        value: int, float, None, or for last-k features a list of
            ``{"item_id": str, "event_time_ms": int}`` newest first; None unless PRESENT
            (a PRESENT None means "no value as of t": empty max / mean, no current session).
        status: PRESENT, NOT_FOUND (no data for the user) or OUT_OF_RETENTION.
        newest_event_time_ms: newest event (any type) behind the value, UTC epoch ms, or None.
    """

    value: Any
    status: Status
    newest_event_time_ms: int | None


def validate(features: Sequence[str] | None) -> list[str]:
    """The feature names to compute (all when None).

    Raises:
        ValueError: an unknown feature name (the message lists the known ones).
    """
    names = list(features) if features is not None else list(FEATURE_NAMES)
    unknown = [n for n in names if n not in FEATURES_BY_NAME and n not in STATE_FEATURES_BY_NAME]
    if unknown:
        raise ValueError(f"unknown features {unknown}; known: {', '.join(FEATURE_NAMES)}")
    return names


def queue_reads(pipe: Any, user_id: str) -> None:
    """Queue the reads of one user on a redis-py pipeline (sync or asyncio): HGETALL, GET."""
    pipe.hgetall(layout.user_key(user_id))
    pipe.get(layout.profile_key(user_id))


def features_from_replies(names: list[str], t: int, replies: Sequence[Any]) -> dict[str, Any]:
    """Values of ``names`` as of ``t`` (UTC epoch ms) from one user's replies to
    :func:`queue_reads` (in order). Returns ``{name: FeatureResult}``."""
    return features_for(names, t, replies[0] or {}, replies[1])


_OUT = FeatureResult(None, Status.OUT_OF_RETENTION, None)


class _User:
    """One user's decoded stored state."""

    def __init__(self, h: dict[bytes, bytes], profile: bytes | str | None) -> None:
        self.has_tiles = bool(h)
        self.pruned: dict[int, int] = {}
        self._h = h  # tile fields are looked up by name and decoded on demand: a lookup needs few
        self.ls_field: int | None = None
        self._index: dict[int, dict[int, bytes]] | None = None
        for f, v in h.items():
            if f[:2] == b"t:":
                continue
            kind, g, _ = layout.parse_field(f.decode())
            if kind == "p":
                self.pruned[g] = int(v)
            else:
                self.ls_field = int(v)
        self.prof: dict[str, Any] | None = None
        if profile is not None:
            self.prof = json.loads(layout.decode_profile(profile)[1])
        self._merged: dict[tuple[int, int], TileValue | None] = {}

    def tiles(self, g: int, first: int, last: int) -> list[TileValue]:
        """Decoded tiles of size ``g`` with index in ``[first, last]``: by field name when the
        hash is large next to the range (a heavy user), else from a one-pass index."""
        h = self._h
        if len(h) > 2 * (last - first + 1):
            got = (h.get(layout.tile_field(g, k).encode()) for k in range(first, last + 1))
            return [layout.decode_tile(v) for v in got if v is not None]
        if self._index is None:
            self._index = {}
            for f, v in h.items():
                if f[:2] == b"t:":
                    _, tg, k = layout.parse_field(f.decode())
                    self._index.setdefault(tg, {})[k] = v
        return [
            layout.decode_tile(v) for k, v in self._index.get(g, {}).items() if first <= k <= last
        ]

    def _indices(self, g: int) -> list[tuple[bytes, int]]:
        prefix = layout.tile_field(g, 0).encode()[:-1]
        return [(f, int(f[len(prefix) :])) for f in self._h if f.startswith(prefix)]

    def newest_tile_index(self, g: int) -> int | None:
        """Largest stored tile index of size ``g``."""
        return max((k for _, k in self._indices(g)), default=None)

    def merged(self, t: int, window_ms: int, g: int) -> TileValue | None:
        """Merged tiles of the window as of t, or None when not answerable exactly."""
        key = (window_ms, g)
        if key in self._merged:
            return self._merged[key]
        first, last = window_tiles(t, window_ms, g)
        out: TileValue | None
        if not self.has_tiles:
            fs, ls = (self.prof or {}).get("fs"), (self.prof or {}).get("ls")
            overlaps = fs is not None and ls is not None and fs < (last + 1) * g and ls >= first * g
            out = None if overlaps else empty_tile()
        elif first <= self.pruned.get(g, first - 1):
            out = None
        else:
            out = merge_tiles(self.tiles(g, first, last))
        self._merged[key] = out
        return out


def features_for(
    names: list[str], t: int, h: dict[bytes, bytes], profile: bytes | str | None = None
) -> dict[str, FeatureResult]:
    """Values of ``names`` as of ``t`` (UTC epoch ms) from the user's tile hash (HGETALL reply)
    and profile value (GET reply). Both empty means no data: every feature is NOT_FOUND."""
    if not h and profile is None:
        return {n: FeatureResult(None, Status.NOT_FOUND, None) for n in names}
    u = _User(h, profile)
    out: dict[str, FeatureResult] = {}
    for n in names:
        wf = FEATURES_BY_NAME.get(n)
        out[n] = _window(wf, t, u) if wf is not None else _state(STATE_FEATURES_BY_NAME[n], t, u)
    return out


def _window(f: WindowFeature, t: int, u: _User) -> FeatureResult:
    m = u.merged(t, f.window.window_ms, f.window.tile_ms)
    if m is None:
        return _OUT
    mt = m[IDX_MAX_TIME]
    newest = None if mt is None else int(mt)
    a = f.aggregate
    if isinstance(a, Derived):
        den = m[_AGG_INDEX[a.denominator]]
        value = m[_AGG_INDEX[a.numerator]] / den if den else None
    elif a.name in _DISTINCT:
        value = sketch.estimate(m[_AGG_INDEX[a.name]])
    else:
        value = m[_AGG_INDEX[a.name]]
    return FeatureResult(value, Status.PRESENT, newest)


def _last_seen_from_tiles(t: int, u: _User) -> FeatureResult:
    """Newest event time before the end of t's second, from the retained 1 s tiles."""
    g = AS_OF_RESOLUTION_MS
    last = t // g
    if not u.has_tiles or last <= u.pruned.get(g, last - 1):
        return _OUT
    first = u.pruned.get(g, -1) + 1
    cands = [int(v[IDX_MAX_TIME]) for v in u.tiles(g, first, last) if v[IDX_MAX_TIME]]
    if cands:
        best = max(cands)
        return FeatureResult(best, Status.PRESENT, best)
    if u.pruned.get(g) is None and (u.prof is None or (u.prof.get("fs") or 0) >= last * g):
        return FeatureResult(None, Status.PRESENT, None)  # nothing pruned: no event up to t
    return _OUT


def _state(f: StateFeature, t: int, u: _User) -> FeatureResult:
    end = (t // AS_OF_RESOLUTION_MS + 1) * AS_OF_RESOLUTION_MS
    p = u.prof
    if p is None:  # tiles without a profile (written before profiles existed)
        if f.kind == "last_seen":
            if u.ls_field is not None and u.ls_field < end:
                return FeatureResult(u.ls_field, Status.PRESENT, u.ls_field)
            return _last_seen_from_tiles(t, u)
        return FeatureResult(None, Status.NOT_FOUND, None)
    fs, ls = p.get("fs"), p.get("ls")
    if fs is None or fs >= end:  # no event as of t
        empty: Any = 0 if f.kind == "lifetime_count" else [] if f.kind == "last_k" else None
        return FeatureResult(empty, Status.PRESENT, None)
    known_all = ls is not None and ls < end
    newest = ls if known_all else None
    kind, typ = f.kind, (f.event_type.value if f.event_type else "")
    if kind == "first_seen":
        return FeatureResult(fs, Status.PRESENT, fs)
    if kind == "last_seen":
        return FeatureResult(ls, Status.PRESENT, ls) if known_all else _last_seen_from_tiles(t, u)
    if kind == "lifetime_count":
        total = int((p.get("c") or {}).get(typ, 0))
        if known_all:
            return FeatureResult(total, Status.PRESENT, newest)
        return _lifetime_before(total, f, t, u)
    if kind == "last_k":
        lst = (p.get("k") or {}).get(typ, [])
        kept = [x for x in lst if x[0] < end]
        if len(kept) < len(lst) and len(lst) >= LAST_K:
            return _OUT  # older entries than the stored k are unknown
        value = [{"item_id": x[2], "event_time_ms": x[0]} for x in kept]
        return FeatureResult(value, Status.PRESENT, kept[0][0] if kept else None)
    if not known_all:
        return _OUT
    s = p.get("s")
    if not s or max(0, t - s[1]) >= SESSION_GAP_MS:
        return FeatureResult(None, Status.PRESENT, newest)
    value = s[0] if kind == "session_start" else s[2] if kind == "session_events" else s[1] - s[0]
    return FeatureResult(value, Status.PRESENT, newest)


def _lifetime_before(total: int, f: StateFeature, t: int, u: _User) -> FeatureResult:
    """Lifetime count as of t: total minus the events in retained 1 s tiles after t's second."""
    g = AS_OF_RESOLUTION_MS
    first_after = t // g + 1
    if not u.has_tiles or u.pruned.get(g, -1) >= first_after:
        return _OUT
    idx = _AGG_INDEX[f"count_{(f.event_type.value if f.event_type else '').lower()}"]
    top = u.newest_tile_index(g)
    after = 0 if top is None else sum(int(v[idx] or 0) for v in u.tiles(g, first_after, top))
    seen = _last_seen_from_tiles(t, u)
    return FeatureResult(total - after, Status.PRESENT, seen.value if seen.value else None)
