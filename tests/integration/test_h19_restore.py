"""Case H19 on the real session cluster: restore after a redeploy keeps state exactly.

- Savepoint redeploy: two records, stop with a savepoint, Redis loses the keys, resume a later
  version of the job (one extra stateless step) from the savepoint, the last two records: the
  features count all three clicks of u1 (the job rewrites a restored user in full).
- kill -9: a checkpoint after two records, the third record written, then every Flink process
  killed before the next checkpoint; a new cluster resumes from the latest retained checkpoint
  and replays the third record: counted once, not twice.
- A version of the job that cannot map the savepoint's state refuses to start.
"""

from __future__ import annotations

import pytest

from tests import REPO_ROOT
from tests.cases import case_events, load_cases
from tests.integration.flinkkit import flink, wait_counted
from tests.integration.jobkit import (
    assert_case_features,
    drop_topics,
    flush_redis,
    job_settings,
    read_topic,
    send_events,
)
from userpulse import redis_conn
from userpulse.jobs import control
from userpulse.lookup import FeatureClient
from userpulse.settings import Settings
from userpulse.stack.flink import FlinkCluster

pytestmark = pytest.mark.integration
__all__ = ["flink"]  # the module fixture

CASE = load_cases()["H19"]
VARIANT = REPO_ROOT / "tests" / "integration" / "variant_entry.py"
USERS = ["u1", "u9"]
EVENTS = case_events(CASE)


def _settings(flink: Settings) -> Settings:
    # checkpoints only when the test asks for one (REST trigger), so "before the next
    # checkpoint" is certain
    return job_settings(flink, partitions=1, checkpoint_interval_ms=3_600_000)


def _first_two_records(s: Settings) -> tuple[str, FeatureClient]:
    """Empty Redis, the job submitted at parallelism 1, the case's first two records counted."""
    flush_redis(s)
    client = FeatureClient.from_settings(s)
    job = control.submit(s, parallelism=1)
    assert wait_counted(client, ["u1"], send_events(s, EVENTS[:2])) == 2
    return job, client


def _assert_outcome(s: Settings, client: FeatureClient) -> None:
    assert_case_features(s, CASE)
    lifetime = client.get_many(USERS, ["count_click_lifetime"])
    assert {u: lifetime[u]["count_click_lifetime"].value for u in USERS} == {"u1": 3, "u9": 1}
    assert (
        sum(v["count_click_lifetime"].value for v in lifetime.values()) == CASE["expect"]["counted"]
    )
    assert len(read_topic(s, s.late_topic, 3)) == CASE["expect"]["late"]
    assert len(read_topic(s, s.dead_letter_topic, 3)) == CASE["expect"]["dead_lettered"]


def test_h19_savepoint_redeploy_after_redis_expired(flink: Settings) -> None:
    s = _settings(flink)
    try:
        job, client = _first_two_records(s)
        savepoint = control.stop_with_savepoint(s, job)
        redis_conn.connect(s, "admin").flushdb()  # the keys expired while the job was stopped
        job = control.submit(
            s, from_path=savepoint, entry=VARIANT, entry_args=("--variant", "extra-step")
        )
        names = " ".join(control.running_vertex_names(s, job))
        assert "h19-extra" in names  # the new version runs, with the old state
        send_events(s, EVENTS[2:])
        assert wait_counted(client, USERS, 4) == 4
        _assert_outcome(s, client)
        control.cancel(s, job)
    finally:
        drop_topics(s)


def test_h19_kill_9_before_next_checkpoint(flink: Settings) -> None:
    s = _settings(flink)
    cluster = FlinkCluster(s)
    try:
        job, client = _first_two_records(s)
        control.trigger_checkpoint(s, job)
        send_events(s, EVENTS[2:3])
        assert wait_counted(client, ["u1"], 3) == 3
        killed = cluster.kill()  # JobManager and both TaskManagers, no chance to checkpoint
        assert len(killed) == 3
        cluster.up(timeout_s=180)
        checkpoint = control.latest_checkpoint(s, job)
        assert "/chk-" in checkpoint
        job = control.submit(s, from_path=checkpoint)
        send_events(s, EVENTS[3:])
        assert wait_counted(client, USERS, 4) == 4
        _assert_outcome(s, client)  # the replayed third click counted once
        control.cancel(s, job)
    finally:
        drop_topics(s)


def test_job_that_cannot_map_its_state_refuses_to_start(flink: Settings) -> None:
    s = _settings(flink)
    try:
        job, client = _first_two_records(s)
        savepoint = control.stop_with_savepoint(s, job)
        with pytest.raises(control.JobControlError) as err:
            control.submit(
                s, from_path=savepoint, entry=VARIANT, entry_args=("--variant", "renamed-tiles")
            )
        assert "Cannot map checkpoint/savepoint state" in str(err.value)
        running = [j for j in control.FlinkRest(s.rest_url).jobs() if j.state == "RUNNING"]
        assert running == []
        # the savepoint is intact: the unchanged job resumes from it and keeps counting
        job = control.submit(s, from_path=savepoint)
        send_events(s, EVENTS[2:3])
        assert wait_counted(client, ["u1"], 3) == 3
        control.cancel(s, job)
    finally:
        drop_topics(s)
