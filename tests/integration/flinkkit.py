"""Helpers of the session-cluster tests: a local Flink cluster on free ports, waiting for the
job's features to reach Redis."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator

import pytest

from tests.integration.conftest import _free_ports
from userpulse.jobs import control
from userpulse.lookup import FeatureClient
from userpulse.settings import Settings
from userpulse.stack.flink import FlinkCluster

LIFETIME = ("count_click_lifetime", "count_scroll_lifetime", "count_hover_lifetime")


def _metrics_range(lo: int = 30_000, hi: int = 39_000) -> tuple[int, int]:
    """The part of ``[lo, hi)`` this pytest process picks Prometheus reporter ranges from: all
    of it alone, one disjoint share per worker under pytest-xdist (``PYTEST_XDIST_WORKER``
    ``gw<i>`` of ``PYTEST_XDIST_WORKER_COUNT``), so two workers' clusters never share one."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    share = (hi - lo) // workers
    return lo + worker * share, lo + (worker + 1) * share - 20


def cluster_settings(stack: Settings, slots: int = 1, taskmanagers: int = 2) -> Settings:
    """The test stack's settings plus free ports for a session cluster (``taskmanagers``
    TaskManagers x ``slots`` slots; default 2 x 1) and a random range for Flink's Prometheus
    reporter."""
    rest, rpc = _free_ports(2)
    base = random.randrange(*_metrics_range(), 20)
    return stack.model_copy(
        update={
            "flink_rest_port": rest,
            "flink_rpc_port": rpc,
            "flink_metrics_ports": f"{base}-{base + 9}",
            "flink_taskmanagers": taskmanagers,
            "flink_slots_per_taskmanager": slots,
        }
    )


@pytest.fixture(scope="module")
def flink(stack: Settings) -> Iterator[Settings]:
    """A running session cluster (JobManager + 2 TaskManagers x 1 slot) for the module; settings
    with its REST port. Stopped afterwards (its logs stay under the test home on failure)."""
    yield from session_cluster(cluster_settings(stack))


def session_cluster(s: Settings) -> Iterator[Settings]:
    """Start the session cluster of ``s`` (up to 180 s), yield ``s``, stop it (the body of a
    module fixture; a start that fails is a test failure with the reason)."""
    cluster = FlinkCluster(s)
    try:
        cluster.up(timeout_s=180)
    except Exception as e:  # noqa: BLE001 - reported as a test failure with the log tail
        cluster.down()
        pytest.fail(f"could not start the Flink session cluster: {e}")
    yield s
    cluster.down()


def counted(client: FeatureClient, users: list[str]) -> int:
    """Events counted into features: the sum of the users' lifetime counts."""
    got = client.get_many(users, list(LIFETIME))
    return sum(int(r[n].value or 0) for r in got.values() for n in LIFETIME)


def wait_counted(
    client: FeatureClient, users: list[str], expected: int, timeout_s: float = 180.0
) -> int:
    """Poll Redis until the users' lifetime counts add up to ``expected``; returns the count
    reached (the caller asserts it)."""
    deadline = time.monotonic() + timeout_s
    got = counted(client, users)
    while got < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        got = counted(client, users)
    return got


def running_parallelism(s: Settings, job_id: str) -> dict[str, int]:
    """Operator chain name -> parallelism of a running job (REST ``/jobs/:id``)."""
    info = control.FlinkRest(s.rest_url).job(job_id)
    return {v["name"]: int(v["parallelism"]) for v in info["vertices"]}
