"""The backfill equals the online path: replay -> feature job -> Redis -> lookup client, as of the
same label times, for every value the store still retains; and reading the Kafka topic back as
the backfill's event source gives the same training data as the recorded log itself.
"""

from __future__ import annotations

import pytest

from tests.backfill_kit import Tally, label_times, labels_table
from tests.cases import DATA_DIR
from tests.integration.jobkit import drop_topics, flush_redis, job_settings, send_events
from userpulse.backfill import backfill
from userpulse.backfill.columns import events_table
from userpulse.backfill.sources import read_topic
from userpulse.features import FEATURE_NAMES
from userpulse.lookup import FeatureClient, Status
from userpulse.producers.replay import load_dataset
from userpulse.settings import Settings

pytestmark = pytest.mark.integration


def test_backfill_equals_the_lookup_after_the_job(stack: Settings) -> None:
    from userpulse.jobs.runner import run_job

    events = load_dataset("ebnerd", DATA_DIR)  # 35,802 events of 44 users
    users = {e.user_id for e in events}
    s = job_settings(stack, partitions=2)
    flush_redis(s)
    try:
        send_events(s, events)
        assert run_job(s, bounded=True, job_name=f"test-{s.topic}") == {
            "dead_lettered": 0,
            "late": 0,
        }
        lab = label_times(events, 600, seed=15) + [("never-seen", events[-1].event_time_ms)]
        end = max(e.event_time_ms for e in events)
        lab += [(u, end + d) for u in sorted(users) for d in (0, 1_000, 60_000, 3_600_000)]
        table, bad = read_topic(s, s.topic)
        assert bad == {} and table.num_rows == len(events)
        from_topic = backfill(table, labels_table(lab)).table
        from_log = backfill(events_table(events), labels_table(lab)).table
        assert from_topic.equals(from_log)

        client = FeatureClient.from_settings(s)
        tally, retained_out = Tally(), 0
        rows = from_topic.to_pylist()
        for r in rows:
            got = client.get(r["user_id"], list(FEATURE_NAMES), as_of=r["as_of_ms"])
            for name in FEATURE_NAMES:
                g = got[name]
                if g.status is Status.OUT_OF_RETENTION:
                    retained_out += 1  # pruned tiles, or a profile value older than the store
                    continue
                assert g.status.value == r[f"{name}_status"], (r["user_id"], name)
                tally.add((r["user_id"], r["as_of_ms"]), name, r[name], g.value)
        print(f"backfill vs lookup: {len(rows)} labels, {tally}, out of retention {retained_out}")
        assert tally.mismatches == 0, tally.bad
        assert tally.compared > 200 * len(FEATURE_NAMES), (tally, retained_out)
        assert tally.nonzero > 50 * len(FEATURE_NAMES) // 2, tally
    finally:
        drop_topics(s)
