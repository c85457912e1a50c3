"""Profile features (not windowed) as of many times at once (design section 4).

As of t, a profile feature counts the events before the end of the second containing t
(:data:`userpulse.features.AS_OF_RESOLUTION_MS`), exactly what the lookup answers from the profile
record after those events were folded (:mod:`userpulse.profile`): lifetime counts, first / last
seen, the newest :data:`~userpulse.features.LAST_K` events with an item id (ties by ``event_id``,
larger first), and the current session (:data:`~userpulse.features.SESSION_GAP_MS` inactivity gap),
which is null when t is a gap or more after the newest event. Times are UTC epoch ms.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pyarrow as pa

from userpulse.backfill.columns import EVENT_TYPES, EventColumns
from userpulse.backfill.keys import KeyIndex
from userpulse.features import (
    AS_OF_RESOLUTION_MS,
    LAST_K,
    SESSION_GAP_MS,
    StateFeature,
)

LAST_K_TYPE = pa.list_(pa.struct([("item_id", pa.string()), ("event_time_ms", pa.int64())]))
"""Arrow type of a last-k list: ``{item_id, event_time_ms}`` newest first."""


def _selected(ev: EventColumns, f: StateFeature) -> np.ndarray:
    if f.event_type is None:
        return np.ones(len(ev), dtype=bool)
    return np.asarray(ev.etype == EVENT_TYPES.index(f.event_type))


def _arrow(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(values, mask=~valid)


class ProfileAsOf:
    """Profile features of queries ``(user code, t)``; user codes must be known (>= 0).

    Args:
        ev: the sorted events (non-empty).
        q_user: user code per query (int64).
        as_of_ms: t per query, UTC epoch ms (int64).
    """

    def __init__(self, ev: EventColumns, q_user: np.ndarray, as_of_ms: np.ndarray) -> None:
        self.ev, self.q_user, self.t = ev, q_user, as_of_ms
        end = (as_of_ms // AS_OF_RESOLUTION_MS + 1) * AS_OF_RESOLUTION_MS
        self.end = end
        self.start = ev.user_start[q_user]
        self.stop = KeyIndex(ev.user, ev.time_ms, len(ev.user_ids)).first_at_or_after(q_user, end)
        self.has = self.stop > self.start
        self.last = np.maximum(self.stop - 1, 0)

    def column(self, f: StateFeature) -> pa.Array:
        """Values of ``f`` per query (null where the lookup answers null)."""
        ev, has = self.ev, self.has
        if f.kind == "lifetime_count":
            pre = np.zeros(len(ev) + 1, dtype=np.int64)
            np.cumsum(_selected(ev, f), out=pre[1:])
            return pa.array(pre[self.stop] - pre[self.start])
        if f.kind == "first_seen":
            return _arrow(ev.time_ms[np.minimum(self.start, len(ev) - 1)], has)
        if f.kind == "last_seen":
            return _arrow(ev.time_ms[self.last], has)
        if f.kind == "last_k":
            return self._last_k(f)
        return self._session(f)

    def _last_k(self, f: StateFeature) -> pa.Array:
        ev = self.ev
        rows = np.flatnonzero(_selected(ev, f) & np.asarray(ev.item_id.is_valid()))
        if len(rows) == 0:
            return pa.array([[]] * len(self.t), type=LAST_K_TYPE)
        idx = KeyIndex(ev.user[rows], ev.time_ms[rows], len(ev.user_ids))
        hi = idx.first_at_or_after(self.q_user, self.end)
        lo = np.searchsorted(ev.user[rows], self.q_user, side="left")
        take = np.minimum(hi - lo, LAST_K)
        offsets = np.zeros(len(take) + 1, dtype=np.int32)
        np.cumsum(take, out=offsets[1:])
        within = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], take)
        picked = rows[np.repeat(hi, take) - 1 - within]  # newest first
        items = pa.StructArray.from_arrays(
            [ev.item_id.take(pa.array(picked)), pa.array(ev.time_ms[picked])],
            names=["item_id", "event_time_ms"],
        )
        return pa.ListArray.from_arrays(pa.array(offsets), items, type=LAST_K_TYPE)

    def _session(self, f: StateFeature) -> pa.Array:
        ev, last = self.ev, self.last
        first_of = self._session_first[last]
        newest = ev.time_ms[last]
        alive = self.has & (np.maximum(0, self.t - newest) < SESSION_GAP_MS)
        if f.kind == "session_start":
            return _arrow(ev.time_ms[first_of], alive)
        if f.kind == "session_events":
            return _arrow(last - first_of + 1, alive)
        if f.kind == "session_duration":
            return _arrow(newest - ev.time_ms[first_of], alive)
        raise ValueError(f"{f.name}: no backfill rule for state kind {f.kind!r}")

    @cached_property
    def _session_first(self) -> np.ndarray:
        """Per event, the index of the first event of its session (same user, gaps < the gap)."""
        ev = self.ev
        new = np.ones(len(ev), dtype=bool)
        new[1:] = (ev.user[1:] != ev.user[:-1]) | (np.diff(ev.time_ms) >= SESSION_GAP_MS)
        heads = np.flatnonzero(new)
        return np.asarray(heads[np.cumsum(new) - 1])
