"""Reference implementation of the features: events in, feature values as of t out.

Plain Python, written straight from the contract (design section 4) and deliberately independent
of the job's code path (no tiles, no Redis): for each feature it filters the user's events by the
window bounds ``[(floor(t/g) - W/g + 1)*g, (floor(t/g) + 1)*g)`` and aggregates them. Tests compare
the job's output, read back through the lookup client, with this.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from userpulse.events import Event
from userpulse.features import LAST_SEEN, LAST_SEEN_RESOLUTION_MS, WINDOW_FEATURES

FeatureValue = int | float | None


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

        Counts and sums of an empty window are 0; a max over an empty window is None;
        ``last_seen`` is the newest event time before the end of the second containing t, or None.
        """
        events = self._by_user.get(user_id, [])
        out: dict[str, FeatureValue] = {}
        for f in WINDOW_FEATURES:
            g, w = f.window.tile_ms, f.window.window_ms
            start = (as_of_ms // g - w // g + 1) * g
            end = (as_of_ms // g + 1) * g
            agg = f.aggregate
            vals = [
                e
                for e in events
                if e.event_type is agg.event_type and start <= e.event_time_ms < end
            ]
            if agg.kind == "count":
                out[f.name] = len(vals)
            else:
                xs = [getattr(e, agg.field or "") for e in vals]
                xs = [x for x in xs if x is not None]
                if agg.kind == "sum":
                    out[f.name] = sum(xs)
                else:
                    out[f.name] = max(xs) if xs else None
        end_ls = (as_of_ms // LAST_SEEN_RESOLUTION_MS + 1) * LAST_SEEN_RESOLUTION_MS
        seen = [e.event_time_ms for e in events if e.event_time_ms < end_ls]
        out[LAST_SEEN] = max(seen) if seen else None
        return out
