"""Helpers of the backfill tests: seeded label times (tile boundaries included) and the oracle.

The oracle is :class:`userpulse.reference.Reference` (exact, from raw events), with one
substitution documented in docs/features.md: ``distinct_items`` above the sketch size k is what the
lookup answers, the KMV estimate of the window's item hashes (:mod:`userpulse.sketch`), computed
here straight from the events in the window bounds, not from tiles.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from userpulse import sketch
from userpulse.events import Event
from userpulse.features import (
    DISTINCT_SKETCH_K,
    FEATURE_NAMES,
    SESSION_GAP_MS,
    WINDOW_FEATURES,
    WINDOWS,
    TileAggregate,
)
from userpulse.reference import Reference
from userpulse.tiles import window_bounds


def offsets_around(t: int) -> list[int]:
    """Times around event time ``t`` where a feature can change: t itself and its neighbours, the
    start and end of t's tile and the time t leaves the window, for every window of the catalogue;
    the session gap."""
    out = [t - 1, t, t + 1, t + 999, t + 1_000, t + SESSION_GAP_MS - 1, t + SESSION_GAP_MS]
    for w in WINDOWS:
        g = w.tile_ms
        k = t // g
        out += [k * g - 1, k * g, (k + 1) * g - 1, (k + 1) * g, (k + w.tiles) * g - 1]
        out += [(k + w.tiles) * g]
    return out


def label_times(events: list[Event], n: int, seed: int) -> list[tuple[str, int]]:
    """``n`` seeded labels ``(user_id, as_of_ms)``: mostly around a random event of the user (tile
    boundaries of every window included), some uniformly over the history's span +- 1 day."""
    rng = random.Random(seed)
    lo = min(e.event_time_ms for e in events) - 86_400_000
    hi = max(e.event_time_ms for e in events) + 86_400_000
    out = []
    for _ in range(n):
        e = rng.choice(events)
        if rng.random() < 0.1:
            out.append((e.user_id, rng.randint(lo, hi)))
        else:
            out.append((e.user_id, rng.choice(offsets_around(e.event_time_ms))))
    return out


def labels_table(labels: list[tuple[str, int]]) -> pa.Table:
    """A label table with an extra column (the row number) that must come back unchanged."""
    return pa.table(
        {
            "user_id": [u for u, _ in labels],
            "as_of_ms": pa.array([t for _, t in labels], pa.int64()),
            "row": list(range(len(labels))),
        }
    )


class Oracle:
    """Expected feature values: the reference, with the sketch estimate above k distinct items."""

    def __init__(self, events: list[Event]) -> None:
        self.ref = Reference(events)
        self.by_user: dict[str, list[Event]] = defaultdict(list)
        for e in events:
            self.by_user[e.user_id].append(e)
        self.estimated = 0

    def features(self, user: str, t: int) -> dict[str, Any]:
        """Every feature of ``user`` as of ``t`` (UTC epoch ms)."""
        want = self.ref.features(user, t)
        for f in WINDOW_FEATURES:
            a = f.aggregate
            if not (isinstance(a, TileAggregate) and a.kind == "distinct"):
                continue
            if want[f.name] < DISTINCT_SKETCH_K:
                continue
            start, end = window_bounds(t, f.window.window_ms, f.window.tile_ms)
            values = {
                getattr(e, a.field or "")
                for e in self.by_user[user]
                if start <= e.event_time_ms < end
                and (a.event_type is None or e.event_type is a.event_type)
            }
            hashes = [[sketch.value_hash(v)] for v in values if v is not None]
            want[f.name] = sketch.estimate(sketch.merge(hashes))
            self.estimated += 1
        return want


@dataclass
class Tally:
    """Comparison counts; ``bad`` holds the first mismatches."""

    compared: int = 0
    nonzero: int = 0
    mismatches: int = 0
    bad: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, key: tuple[Any, ...], name: str, got: Any, want: Any) -> None:
        """Count one comparison: exact equality (floats included: the same arithmetic)."""
        self.compared += 1
        if got != want or type(got) is not type(want):
            self.mismatches += 1
            if len(self.bad) < 20:
                self.bad.append((*key, name, got, want))
        elif want:
            self.nonzero += 1


def compare_rows(rows: list[dict[str, Any]], oracle: Oracle, known: set[str]) -> Tally:
    """Every feature of every output row against the oracle; statuses checked on the way."""
    tally = Tally()
    for r in rows:
        want = oracle.features(r["user_id"], r["as_of_ms"])
        status = "present" if r["user_id"] in known else "not_found"
        for name in FEATURE_NAMES:
            assert r[f"{name}_status"] == status, (r["user_id"], name)
            expected = want[name] if status == "present" else None
            tally.add((r["user_id"], r["as_of_ms"]), name, r[name], expected)
    return tally
