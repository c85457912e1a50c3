"""The feature job on a real standalone session cluster (2 TaskManagers), through the project's
own commands' code: submit, stop with a savepoint, rescale, resume (issue 6).

Parallelism 2 on a 4-partition topic gives exactly the reference features, across a rescale
1 -> 2 -> 1, and the lookups right before and after each stop/resume are equal."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.deploykit import FLINK_METRICS_USED
from tests.integration.conftest import _free_ports
from tests.integration.flinkkit import flink, running_parallelism, wait_counted
from tests.integration.jobkit import drop_topics, flush_redis, job_settings, send_events
from tests.integration.storekit import wait_for
from userpulse.compare import as_of_points, compare
from userpulse.jobs import control
from userpulse.lookup import FeatureClient
from userpulse.producers.synthetic import SyntheticTraffic
from userpulse.settings import Settings
from userpulse.stack.flink import FlinkCluster
from userpulse.stack.flink_code import code_fingerprint, record_code

pytestmark = pytest.mark.integration
__all__ = ["flink"]  # the module fixture

T0 = 1_717_243_200_000  # 2024-06-01T12:00:00Z


@pytest.fixture(autouse=True)
def _no_job_left(flink: Settings) -> Iterator[None]:
    """Cancel whatever job a test leaves running (a failed assertion skips its own cancel), so
    one failure does not fail the next test too (its submit would find a job on old code)."""
    yield
    rest = control.FlinkRest(flink.rest_url)
    for j in rest.jobs():
        if j.state in control.RUNNING_STATES:
            with contextlib.suppress(control.JobControlError):
                control.cancel(flink, j.job_id)


def _snapshot(client: FeatureClient, users: list[str], as_of: int) -> dict[str, dict]:
    got = client.get_many(users, as_of=as_of)
    return {u: {n: (f.status, f.value) for n, f in got[u].items()} for u in users}


def test_rescale_1_2_1_equals_reference(flink: Settings) -> None:
    events = list(
        SyntheticTraffic(seed=6, users=120, start_time_ms=T0, items=400).events(20.0, 2_400)
    )
    users = sorted({e.user_id for e in events})
    batches = [events[:800], events[800:1_600], events[1_600:]]
    s = job_settings(flink, partitions=4)
    flush_redis(s)
    client = FeatureClient.from_settings(s)
    try:
        job = control.submit(s, parallelism=1)
        assert set(running_parallelism(s, job).values()) == {1}
        sent = send_events(s, batches[0])
        assert wait_counted(client, users, sent) == sent
        end0 = batches[0][-1].event_time_ms
        for p_new, batch in ((2, batches[1]), (1, batches[2])):
            before = _snapshot(client, users, end0)
            savepoint = control.stop_with_savepoint(s, job)
            job = control.submit(s, parallelism=p_new, from_path=savepoint)
            assert set(running_parallelism(s, job).values()) == {p_new}
            # the restored job rewrites nothing wrong: lookups equal before and after
            assert _snapshot(client, users, end0) == before
            sent += send_events(s, batch)
            assert wait_counted(client, users, sent) == sent
            end0 = batch[-1].event_time_ms
        res = compare(client, events, as_of_points(events, per_user=2))
        print(f"rescale 1->2->1: {len(events)} events, {len(users)} users, {res}")
        assert res.mismatches == 0, res.bad
        assert res.compared > 10_000 and res.nonzero > 1_000
        control.cancel(s, job)
    finally:
        drop_topics(s)


def _scrape(ports: range, every: bool = False) -> dict[str, float]:
    """Metric name -> value summed over labels and over every endpoint in ``ports`` that
    answers (Prometheus text format). With ``every``, each endpoint is asked again for up to
    30 s until it answers, and one that never does fails the test (a sum without it would be
    short: once, on a loaded machine, a 3-s timeout left out a TaskManager's counts)."""
    out: dict[str, float] = {}
    for port in ports:
        deadline = time.monotonic() + (30 if every else 0)
        while True:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=3).text
                break
            except httpx.HTTPError as e:
                if time.monotonic() > deadline:
                    if every:
                        pytest.fail(f"metrics endpoint :{port} did not answer: {e!r}")
                    text = ""
                    break
                time.sleep(0.5)
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                base = name.split("{", 1)[0]
                out[base] = out.get(base, 0.0) + float(value)
    return out


def test_parallelism_2_equals_reference(flink: Settings) -> None:
    """Submitted at parallelism 2 from the start: each TaskManager runs one subtask of every
    operator, the 4 partitions are split between the two source subtasks. Each TaskManager
    serves the job's metrics (the second on the next port) and together they count every event;
    every Flink metric the Grafana dashboard queries is exported by the cluster's reporter."""
    events = list(
        SyntheticTraffic(seed=7, users=150, start_time_ms=T0, items=400).events(25.0, 2_000)
    )
    users = sorted({e.user_id for e in events})
    metrics_port = _free_ports(1)[0]
    s = job_settings(flink, partitions=4, job_metrics_port=metrics_port)
    flush_redis(s)
    client = FeatureClient.from_settings(s)
    try:
        job = control.submit(s, parallelism=2)
        assert set(running_parallelism(s, job).values()) == {2}
        overview = control.FlinkRest(s.rest_url).get("/overview")
        assert overview["taskmanagers"] == 2 and overview["slots-available"] == 0
        # a TaskManager's interpreter outlives a job: its counters include earlier jobs' events
        metric_ports = range(metrics_port, metrics_port + 2)
        before = _scrape(metric_ports, every=True)
        sent = send_events(s, events)
        assert wait_counted(client, users, sent) == sent
        names = ("userpulse_events_in_total", "userpulse_events_counted_total")

        def counts() -> dict[str, float]:
            workers = _scrape(metric_ports, every=True)
            return {n: workers.get(n, 0.0) - before.get(n, 0.0) for n in names}

        expected = dict.fromkeys(names, float(sent))
        assert wait_for(lambda: counts() == expected, 30, 1.0), counts()
        lo, hi = (int(x) for x in s.flink_metrics_ports.split("-"))
        deadline = time.monotonic() + 60  # checkpoint metrics appear after the first one
        missing = FLINK_METRICS_USED - set(_scrape(range(lo, hi + 1)))
        while missing and time.monotonic() < deadline:
            time.sleep(2)
            missing = FLINK_METRICS_USED - set(_scrape(range(lo, hi + 1)))
        assert not missing, f"dashboard queries metrics the cluster does not export: {missing}"
        res = compare(client, events, as_of_points(events, per_user=2))
        print(f"parallelism 2: {len(events)} events, {len(users)} users, {res}")
        assert res.mismatches == 0, res.bad
        assert res.compared > 10_000
        control.cancel(s, job)
    finally:
        drop_topics(s)


def test_changed_job_code_restarts_the_taskmanagers(flink: Settings) -> None:
    """A submit to the local cluster after the job's sources changed gets fresh TaskManagers
    (fresh interpreters: the new code); without a change it keeps them."""
    cluster = FlinkCluster(flink)
    s = job_settings(flink, partitions=1)
    try:
        before = cluster.pids()["taskexecutor"]
        assert len(before) == 2
        (cluster.root / "taskmanagers.code").write_text("older sources\n")  # as after an edit
        job = control.submit(s, parallelism=1)
        after = cluster.pids()["taskexecutor"]
        assert len(after) == 2 and not set(after) & set(before)
        assert (cluster.root / "taskmanagers.code").read_text().strip() == code_fingerprint()
        # a running job on old code is not restarted under it
        (cluster.root / "taskmanagers.code").write_text("older sources\n")
        with pytest.raises(control.JobControlError, match="stop with a savepoint first"):
            control.submit(s, parallelism=1)
        control.cancel(s, job)
        record_code(cluster)
        job = control.submit(s, parallelism=1)  # unchanged sources: same TaskManagers
        assert cluster.pids()["taskexecutor"] == after
        control.cancel(s, job)
    finally:
        drop_topics(s)
