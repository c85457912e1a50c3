"""Reference implementation of the features: events in, feature values as of t out.

Plain Python, written straight from the contract (design section 4) and deliberately independent
of the job's code path (no tiles, no sketches, no Redis): for each window feature it filters the
user's events by the window bounds ``[(floor(t/g) - W/g + 1)*g, (floor(t/g) + 1)*g)`` and
aggregates them exactly (``distinct_items`` is an exact count here; the job's sketch is exact
below its size k). Non-window features as of t use the events before the end of the second
containing t. Tests compare the job's output, read back through the lookup client, with this.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from userpulse.events import Event
from userpulse.features import (
    AS_OF_RESOLUTION_MS,
    LAST_K,
    SESSION_GAP_MS,
    STATE_FEATURES,
    TILE_AGGREGATES,
    WINDOW_FEATURES,
    Derived,
    StateFeature,
    TileAggregate,
)

FeatureValue = Any
"""int, float, None, or a list of {"item_id", "event_time_ms"} dicts (last-k features)."""


def _aggregate(agg: TileAggregate, events: list[Event]) -> FeatureValue:
    vals = [e for e in events if agg.event_type is None or e.event_type is agg.event_type]
    if agg.kind == "count":
        return len(vals)
    xs = [getattr(e, agg.field or "") for e in vals]
    xs = [x for x in xs if x is not None]
    if agg.kind == "sum":
        return sum(xs)
    if agg.kind == "distinct":
        return len(set(xs))
    return max(xs) if xs else None


def _derived(d: Derived, events: list[Event], by_name: dict[str, TileAggregate]) -> FeatureValue:
    num = _aggregate(by_name[d.numerator], events)
    den = _aggregate(by_name[d.denominator], events)
    return num / den if den else None


class Session(NamedTuple):
    """A session: first and newest event time (UTC epoch ms) and its number of events."""

    start_ms: int
    end_ms: int
    events: int


def _current_session(times: list[int], t: int) -> Session | None:
    """The session containing the newest time, if t is within the gap of it."""
    if not times:
        return None
    times = sorted(times)
    start = times[-1]
    n = 1
    for a, b in zip(reversed(times[:-1]), reversed(times[1:]), strict=True):
        if b - a >= SESSION_GAP_MS:
            break
        start = a
        n += 1
    end = times[-1]
    return Session(start, end, n) if max(0, t - end) < SESSION_GAP_MS else None


def _state(f: StateFeature, events: list[Event], t: int) -> FeatureValue:
    ev = [e for e in events if f.event_type is None or e.event_type is f.event_type]
    times = [e.event_time_ms for e in ev]
    if f.kind == "lifetime_count":
        return len(ev)
    if f.kind == "first_seen":
        return min(times) if times else None
    if f.kind == "last_seen":
        return max(times) if times else None
    if f.kind == "last_k":
        items = sorted(
            ((e.event_time_ms, e.event_id, e.item_id) for e in ev if e.item_id is not None),
            reverse=True,
        )[:LAST_K]
        return [{"item_id": i, "event_time_ms": et} for et, _, i in items]
    s = _current_session(times, t)
    if s is None:
        return None
    if f.kind == "session_start":
        return s.start_ms
    if f.kind == "session_events":
        return s.events
    return s.end_ms - s.start_ms


class Reference:
    """Feature values computed offline from a list of counted events.

    Args:
        events: the events the job counted (valid and not late), in any order.
    """

    def __init__(self, events: Iterable[Event]) -> None:
        self._by_user: dict[str, list[Event]] = defaultdict(list)
        for e in events:
            self._by_user[e.user_id].append(e)

    @property
    def users(self) -> list[str]:
        """User ids that have at least one event, sorted."""
        return sorted(self._by_user)

    def features(self, user_id: str, as_of_ms: int) -> dict[str, FeatureValue]:
        """All features of ``user_id`` as of ``as_of_ms`` (UTC epoch ms).

        Counts and sums of an empty window are 0; a max, mean or ratio over an empty window is
        None; non-window features count events before the end of the second containing t
        (``first_seen``/``last_seen`` None, counts 0, last-k ``[]`` before any event; the
        session features are None when the newest event is a session gap or more before t).
        """
        by_name = {a.name: a for a in TILE_AGGREGATES}
        events = self._by_user.get(user_id, [])
        out: dict[str, FeatureValue] = {}
        for f in WINDOW_FEATURES:
            g, w = f.window.tile_ms, f.window.window_ms
            start = (as_of_ms // g - w // g + 1) * g
            end = (as_of_ms // g + 1) * g
            in_window = [e for e in events if start <= e.event_time_ms < end]
            agg = f.aggregate
            if isinstance(agg, Derived):
                out[f.name] = _derived(agg, in_window, by_name)
            else:
                out[f.name] = _aggregate(agg, in_window)
        end_s = (as_of_ms // AS_OF_RESOLUTION_MS + 1) * AS_OF_RESOLUTION_MS
        before = [e for e in events if e.event_time_ms < end_s]
        for sf in STATE_FEATURES:
            out[sf.name] = _state(sf, before, as_of_ms)
        return out
