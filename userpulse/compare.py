"""Compare the job's features, read back through the lookup client, with the reference.

Shared by the integration tests and ``bench/verify_topic.py`` (a live cluster), so it lives in
the package rather than under ``tests/``.

Rules (design section 4 and docs/features.md):
- PRESENT values must equal the reference: exact for counts, sums, maxima, times and last-k
  lists; 1e-9 relative for means and ratios; ``distinct_items`` exact below the sketch size k and
  within 25 % (4 standard errors of KMV-256) above it.
- OUT_OF_RETENTION is allowed only where the stored state cannot answer exactly: windows older
  than the retention behind the final watermark, and non-window features as of a time before the
  user's newest event. As of the user's newest event or later, everything is PRESENT.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from userpulse.events import Event
from userpulse.features import (
    DISTINCT_SKETCH_K,
    FEATURE_NAMES,
    FEATURES_BY_NAME,
    STATE_FEATURES_BY_NAME,
)
from userpulse.lookup import FeatureClient, Status
from userpulse.reference import Reference


class Mismatch(NamedTuple):
    """One value that differs from the reference.

    Attributes:
        user_id: the user.
        as_of_ms: lookup time, UTC epoch ms.
        feature: feature name.
        got: what the lookup answered.
        want: what the reference computes.
    """

    user_id: str
    as_of_ms: int
    feature: str
    got: Any
    want: Any


@dataclass
class Comparison:
    """Counts of a comparison run; ``bad`` holds the first 20 mismatches."""

    compared: int = 0
    nonzero: int = 0
    out_of_retention: int = 0
    mismatches: int = 0
    bad: list[Mismatch] = field(default_factory=list)


def same(name: str, got: Any, want: Any) -> bool:
    """Whether a PRESENT value matches the reference value of feature ``name``."""
    if got is None or want is None:
        return got is None and want is None
    if name.startswith("distinct_items"):
        if want < DISTINCT_SKETCH_K:
            return bool(got == want)
        return abs(got - want) <= 0.25 * want
    if isinstance(want, float) or isinstance(got, float):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    return bool(got == want)


def as_of_points(events: list[Event], per_user: int = 3) -> list[int]:
    """Lookup times: the end of the data and offsets around users' last events."""
    end = max(e.event_time_ms for e in events)
    last_by_user: dict[str, int] = {}
    for e in events:
        last_by_user[e.user_id] = max(last_by_user.get(e.user_id, 0), e.event_time_ms)
    pts = {end + d for d in (0, 999, 30_000, 61_000, 299_999, 1_800_000, 3_600_000, 86_400_000)}
    for t in last_by_user.values():
        pts.update([t, t + 1_000, t + 59_999][:per_user])
    return sorted(pts)


def compare(
    client: FeatureClient,
    events: list[Event],
    as_of: Iterable[int] = (),
    users: list[str] | None = None,
    batch: int = 200,
    own_points: tuple[int, ...] = (),
) -> Comparison:
    """Every feature of every user (or ``users``) as of each time in ``as_of``, and of each user
    as of its own newest event time plus each offset in ``own_points``; client vs reference."""
    ref = Reference(events)
    users = ref.users if users is None else users
    end = max(e.event_time_ms for e in events)
    newest: dict[str, int] = {}
    for e in events:
        newest[e.user_id] = max(newest.get(e.user_id, e.event_time_ms), e.event_time_ms)
    out = Comparison()
    jobs = [(t, users) for t in as_of]
    jobs += [(newest[u] + d, [u]) for u in users for d in own_points]
    for t, group in jobs:
        end_s = (t // 1000 + 1) * 1000
        for i in range(0, len(group), batch):
            chunk = group[i : i + batch]
            got_all = client.get_many(chunk, as_of=t)
            for u in chunk:
                want = ref.features(u, t)
                for name in FEATURE_NAMES:
                    got = got_all[u][name]
                    if got.status is Status.OUT_OF_RETENTION:
                        out.out_of_retention += 1
                        if name in STATE_FEATURES_BY_NAME:
                            assert end_s <= newest[u], (u, t, name, "state out of retention")
                        else:
                            assert name in FEATURES_BY_NAME and t < end - 60_000, (u, t, name)
                        continue
                    assert got.status is Status.PRESENT, (u, t, name, got)
                    out.compared += 1
                    if not same(name, got.value, want[name]):
                        out.mismatches += 1
                        if len(out.bad) < 20:
                            out.bad.append(Mismatch(u, t, name, got.value, want[name]))
                    elif want[name]:
                        out.nonzero += 1
    return out
