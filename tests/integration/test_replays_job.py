"""Globo and OTTO replays through the real job: 0 mismatches against the reference.

(EB-NeRD is in test_job_e2e.py.) Globo spans 24 days, so users go quiet for longer than the
longest window, their job state is freed, their tiles pruned in Redis, and they come back: the
profile (lifetime counts, last-k, sessions) must be revived from Redis without a double count.
"""

from __future__ import annotations

import random

import pytest

from lookup import FeatureClient
from producers.kafka_out import EventSink
from producers.replay import load_dataset
from tests.cases import DATA_DIR
from tests.integration.compare import compare
from tests.integration.jobkit import drop_topics, flush_redis, job_settings, run_bounded
from userpulse.settings import Settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("name", "sample"), [("otto", None), ("globo", 400)])
def test_replay_matches_reference(stack: Settings, name: str, sample: int | None) -> None:
    events = load_dataset(name, DATA_DIR)
    s = job_settings(stack, partitions=2)
    flush_redis(s)
    try:
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            for e in events:
                sink.send(e)
            sink.flush(120)
            assert sink.stats().delivered == len(events)
        assert run_bounded(s) == {"dead_lettered": 0, "late": 0}
        users = sorted({e.user_id for e in events})
        if sample is not None:
            # the most active users (revivals, full last-k lists) and a seeded random rest
            by_n: dict[str, int] = {}
            for e in events:
                by_n[e.user_id] = by_n.get(e.user_id, 0) + 1
            top = sorted(users, key=lambda u: -by_n[u])[: sample // 2]
            rest = sorted(set(users) - set(top))
            users = top + random.Random(3).sample(rest, sample - len(top))
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
