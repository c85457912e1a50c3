"""Globo and OTTO replays through the real job: 0 mismatches against the reference.

(EB-NeRD is in test_job_e2e.py.) Globo spans 24 days: tiles leave retention and are pruned in
Redis while the replay runs, and some users are quiet for longer than the state retention.
"""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from tests.cases import DATA_DIR
from tests.integration.jobkit import (
    drop_topics,
    flush_redis,
    job_settings,
    run_bounded,
    send_events,
)
from userpulse.compare import compare
from userpulse.lookup import FeatureClient
from userpulse.producers.replay import load_dataset
from userpulse.settings import Settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("name", "sample"), [("otto", None), ("globo", 400)])
def test_replay_matches_reference(stack: Settings, name: str, sample: int | None) -> None:
    events = load_dataset(name, DATA_DIR)
    s = job_settings(stack, partitions=2)
    flush_redis(s)
    try:
        send_events(s, events)
        assert run_bounded(s) == {"dead_lettered": 0, "late": 0}
        users = sorted({e.user_id for e in events})
        if sample is not None:
            # users quiet for longer than the state retention (whether the job frees and revives
            # them depends on how far the watermark got before they return: a revival is tested
            # in test_cases_more.py), the most active users (full last-k lists), a random rest
            times: dict[str, list[int]] = {}
            for e in events:
                times.setdefault(e.user_id, []).append(e.event_time_ms)
            gap = 86_400_000 + 1_440_000 + s.allowed_lateness_ms + 60_000  # state retention
            revived = sorted(
                u for u, ts in times.items() if any(b - a > gap for a, b in pairwise(sorted(ts)))
            )
            assert revived, "the dataset should have users who come back after > 24 h"
            top = sorted(set(users) - set(revived), key=lambda u: -len(times[u]))[: sample // 2]
            rest = sorted(set(users) - set(top) - set(revived))
            users = revived + top + random.Random(3).sample(rest, sample - len(top))
        end = max(e.event_time_ms for e in events)
        res = compare(
            FeatureClient.from_settings(s),
            events,
            as_of=[end, end + 61_000, end + 3_600_000],
            users=users,
            own_points=(0, 1_000, 59_999, 1_800_000),
        )
        assert res.mismatches == 0, res.bad
        assert res.nonzero > 20 * len(users), res
    finally:
        drop_topics(s)
