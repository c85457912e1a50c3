"""One user's stored state, decoded on demand, and the features that are not windows
(lifetime counts, first / last seen, last-k items, session) as of t (design section 4).

Used by :mod:`userpulse.lookup.merge`; no I/O. A value the stored state cannot answer exactly as of
t is
``out_of_retention``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from userpulse import layout
from userpulse.features import (
    AS_OF_RESOLUTION_MS,
    LAST_K,
    SESSION_GAP_MS,
    TILE_AGGREGATES,
    TILE_SIZES_MS,
    StateFeature,
)
from userpulse.lookup.results import (
    OUT_OF_RETENTION,
    TILES,
    FeatureResult,
    Status,
    StoredValueError,
)
from userpulse.lookup.tilecols import empty_columns, window_values
from userpulse.tiles import IDX_MAX_TIME, TileValue

_loads: Callable[[str | bytes], Any] = json.loads
with contextlib.suppress(ImportError):  # the service extra's orjson (C): same values, faster
    from orjson import loads as _loads

_AGG_INDEX = {a.name: i for i, a in enumerate(TILE_AGGREGATES, start=1)}
_PRUNED_FIELDS = {g: layout.pruned_field(g).encode() for g in TILE_SIZES_MS}
_LS_FIELD = layout.META_LAST_SEEN.encode()
_OUT = OUT_OF_RETENTION
_PRESENT = Status.PRESENT
_NOT_FOUND = FeatureResult(None, Status.NOT_FOUND, None)
_TILES = TILES


class StoredUser:
    """One user's stored state, decoded on demand (only what the asked features need)."""

    def __init__(self, h: dict[bytes, bytes], profile: bytes | str | None) -> None:
        self.has_tiles = bool(h)
        self._h = h
        self._raw_profile = profile
        self._prof: dict[str, Any] | None = None
        self._index: dict[int, dict[int, bytes]] | None = None
        try:
            self.pruned = {g: int(h[f]) for g, f in _PRUNED_FIELDS.items() if f in h}
            ls = h.get(_LS_FIELD)
            self.ls_field: int | None = None if ls is None else int(ls)
        except ValueError as e:
            raise StoredValueError(_TILES, str(e)) from None

    @property
    def prof(self) -> dict[str, Any] | None:
        """The profile document, or None when the user has none."""
        if self._prof is None and self._raw_profile is not None:
            try:
                doc = _loads(layout.decode_profile(self._raw_profile)[1])
            except ValueError as e:  # also json / orjson decode errors
                raise StoredValueError("profile", str(e)) from None
            if not isinstance(doc, dict):
                raise StoredValueError("profile", "profile document is not a JSON object")
            self._prof = doc
        return self._prof

    def tiles(self, g: int, first: int, last: int) -> list[TileValue]:
        """Decoded tiles of size ``g`` with index in ``[first, last]`` (the rare historical
        paths of state features): by field name when the hash is large next to the range,
        else from a one-pass index."""
        h = self._h
        try:
            if len(h) > 2 * (last - first + 1):
                got = (h.get(layout.tile_field(g, k).encode()) for k in range(first, last + 1))
                return [layout.decode_tile(v) for v in got if v is not None]
            if self._index is None:
                self._index = {}
                for f, v in h.items():
                    if f[:2] == b"t:":
                        _, tg, k = layout.parse_field(f.decode())
                        self._index.setdefault(tg, {})[k] = v
            idx = self._index.get(g, {})
            return [layout.decode_tile(v) for k, v in idx.items() if first <= k <= last]
        except ValueError as e:
            raise StoredValueError(_TILES, str(e)) from None

    def newest_tile_index(self, g: int) -> int | None:
        """Largest stored tile index of size ``g``."""
        prefix = layout.tile_field(g, 0).encode()[:-1]
        try:
            ks = (int(f[len(prefix) :]) for f in self._h if f.startswith(prefix))
            return max(ks, default=None)
        except ValueError as e:
            raise StoredValueError(_TILES, str(e)) from None

    def window_plan(
        self, t: int, window_ms: int, g: int, first: int, last: int, cols: frozenset[int]
    ) -> tuple[dict[int, Any] | None, list[bytes] | None]:
        """How to answer the window ``[first, last]`` (tiles of size ``g``) as of t:
        ``(None, None)`` when it cannot be answered exactly (pruned), ``(columns, None)`` when
        it is known to be empty, ``(None, values)`` when its stored tile values are to be merged.
        """
        if not self.has_tiles:
            p = self.prof or {}
            fs, ls = p.get(layout.PROFILE_FIRST_SEEN), p.get(layout.PROFILE_LAST_SEEN)
            overlaps = fs is not None and ls is not None and fs < (last + 1) * g and ls >= first * g
            return (None if overlaps else empty_columns(cols)), None
        if first <= self.pruned.get(g, first - 1):
            return None, None
        return None, window_values(self._h, g, first, last)


def _last_seen_from_tiles(t: int, u: StoredUser) -> FeatureResult:
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
    if u.pruned.get(g) is None and (
        u.prof is None or (u.prof.get(layout.PROFILE_FIRST_SEEN) or 0) >= last * g
    ):
        return FeatureResult(None, Status.PRESENT, None)  # nothing pruned: no event up to t
    return _OUT


def state_feature(f: StateFeature, t: int, u: StoredUser) -> FeatureResult:
    end = (t // AS_OF_RESOLUTION_MS + 1) * AS_OF_RESOLUTION_MS
    p = u.prof
    if p is None:  # tiles without a profile (written before profiles existed)
        if f.kind == "last_seen":
            if u.ls_field is not None and u.ls_field < end:
                return FeatureResult(u.ls_field, _PRESENT, u.ls_field)
            return _last_seen_from_tiles(t, u)
        return _NOT_FOUND
    fs, ls = p.get(layout.PROFILE_FIRST_SEEN), p.get(layout.PROFILE_LAST_SEEN)
    if fs is None or fs >= end:  # no event as of t
        empty: Any = 0 if f.kind == "lifetime_count" else [] if f.kind == "last_k" else None
        return FeatureResult(empty, _PRESENT, None)
    known_all = ls is not None and ls < end
    newest = ls if known_all else None
    kind, typ = f.kind, (f.event_type.value if f.event_type else "")
    if kind == "first_seen":
        return FeatureResult(fs, _PRESENT, fs)
    if kind == "last_seen":
        return FeatureResult(ls, _PRESENT, ls) if known_all else _last_seen_from_tiles(t, u)
    if kind == "lifetime_count":
        total = int((p.get(layout.PROFILE_COUNTS) or {}).get(typ, 0))
        if known_all:
            return FeatureResult(total, _PRESENT, newest)
        return _lifetime_before(total, f, t, u)
    if kind == "last_k":
        lst = (p.get(layout.PROFILE_LAST_K) or {}).get(typ, [])
        kept = [x for x in lst if x[0] < end]
        if len(kept) < len(lst) and len(lst) >= LAST_K:
            return _OUT  # older entries than the stored k are unknown
        value = [{"item_id": x[2], "event_time_ms": x[0]} for x in kept]
        return FeatureResult(value, _PRESENT, kept[0][0] if kept else None)
    if not known_all:
        return _OUT
    s = p.get(layout.PROFILE_SESSION)
    if not s or max(0, t - s[1]) >= SESSION_GAP_MS:
        return FeatureResult(None, _PRESENT, newest)
    value = s[0] if kind == "session_start" else s[2] if kind == "session_events" else s[1] - s[0]
    return FeatureResult(value, _PRESENT, newest)


def _lifetime_before(total: int, f: StateFeature, t: int, u: StoredUser) -> FeatureResult:
    """Lifetime count as of t: total minus the events in retained 1 s tiles after t's second."""
    g = AS_OF_RESOLUTION_MS
    first_after = t // g + 1
    if not u.has_tiles or u.pruned.get(g, -1) >= first_after:
        return _OUT
    idx = _AGG_INDEX[f"count_{(f.event_type.value if f.event_type else '').lower()}"]
    top = u.newest_tile_index(g)
    after = 0 if top is None else sum(int(v[idx] or 0) for v in u.tiles(g, first_after, top))
    seen = _last_seen_from_tiles(t, u)
    return FeatureResult(total - after, _PRESENT, seen.value if seen.value else None)
