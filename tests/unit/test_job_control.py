"""The pure parts of cluster control: settings passed to a submitted job, the rendered Flink
configuration, the metrics port of several workers on one host."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from userpulse.jobs.control import _cause, settings_env
from userpulse.settings import Settings
from userpulse.stack.flink import FlinkCluster
from userpulse.stack.flink_conf import _yaml_scalar


def test_settings_env_rebuilds_the_submitters_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path,
        topic="t.x",
        redis_tls=False,
        redis_cluster=True,
        redis_job_password="pw; with spaces",  # type: ignore[arg-type]
        allowed_lateness_ms=1234,
        parallelism=3,
    )
    env = settings_env(s)
    assert env["USERPULSE_TOPIC"] == "t.x"
    assert env["USERPULSE_REDIS_CLUSTER"] == "true"
    assert env["USERPULSE_REDIS_JOB_PASSWORD"] == "pw; with spaces"
    assert env["USERPULSE_HOME"] == str(tmp_path)
    assert "USERPULSE_REDIS_TLS" not in env  # defaults are not passed
    assert env["USERPULSE_SETTINGS_FILE"] == "/dev/null"
    for k in list(os.environ):
        if k.startswith("USERPULSE_"):
            monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    again = Settings()
    assert again == s


def test_cluster_config_renders_valid_yaml(tmp_path: Path) -> None:
    s = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path,
        flink_rest_port=28081,
        flink_rpc_port=26123,
        flink_taskmanagers=3,
        flink_slots_per_taskmanager=2,
        flink_metrics_ports="31000-31009",
    )
    c = FlinkCluster(s)
    conf = yaml.safe_load(c.write_config().read_text())
    assert conf["rest.port"] == 28081
    assert conf["jobmanager.rpc.port"] == 26123
    assert conf["taskmanager.numberOfTaskSlots"] == 2
    assert conf["metrics.reporter.prom.port"] == "31000-31009"
    assert conf["classloader.parent-first-patterns.additional"] == "pemja."
    assert conf["python.executable"] == sys.executable
    assert conf["execution.checkpointing.savepoint-dir"] == (tmp_path / "savepoints").as_uri()
    assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in conf["env.java.opts.all"]
    assert (c.conf_dir / "workers").read_text().splitlines() == ["localhost"] * 3


@pytest.mark.parametrize("value", ["a:b", "x # y", " lead", "", "[1]", 'q"uote', "plain"])
def test_yaml_scalar_round_trips(value: str) -> None:
    assert yaml.safe_load(f"k: {_yaml_scalar(value)}")["k"] == value


def test_cause_keeps_exception_lines_only() -> None:
    trace = "java.lang.IllegalStateException: Failed\n\tat a.b(C.java:1)\n\t... 3 more\n"
    trace += "Caused by: java.lang.Exception: Cannot map checkpoint/savepoint state\n\tat x.y\n"
    assert _cause(trace) == (
        "java.lang.IllegalStateException: Failed\n"
        "Caused by: java.lang.Exception: Cannot map checkpoint/savepoint state"
    )


def test_resume_finds_the_parallelism_of_a_killed_job(tmp_path: Path) -> None:
    from tests.integration.conftest import _free_ports
    from userpulse.jobs.control import record_job, record_savepoint, stopped_parallelism

    s = Settings(_env_file=None, home=tmp_path, flink_rest_port=_free_ports(1)[0])  # type: ignore[call-arg]
    job = "0123456789abcdef0123456789abcdef"
    record_job(s, "f" * 32, 1)
    record_job(s, job, 2)
    ckpt = (tmp_path / "checkpoints" / job / "chk-7").as_uri()
    # no cluster answers (it was killed): the job ledger of submit knows the parallelism
    assert stopped_parallelism(s, ckpt) == 2
    assert stopped_parallelism(s, ckpt + "/_metadata") == 2
    record_savepoint(s, job, 3, "file:///sp/savepoint-1")
    assert stopped_parallelism(s, "file:///sp/savepoint-1") == 3
    unknown = (tmp_path / "checkpoints" / ("e" * 32) / "chk-1").as_uri()
    assert stopped_parallelism(s, unknown) is None
    assert stopped_parallelism(s, "file:///elsewhere/sp") is None


def test_cluster_status_counts_missing_taskmanagers() -> None:
    from userpulse.stack.flink import ClusterStatus

    def st(registered: int, alive: int) -> ClusterStatus:
        pids = {"standalonesession": [1], "taskexecutor": list(range(10, 10 + alive))}
        return ClusterStatus("u", True, registered, 2, 0, 1, "2.2", pids, expected=2)

    assert st(2, 2).missing_taskmanagers == 0
    assert st(2, 1).missing_taskmanagers == 1  # killed, the JobManager has not noticed yet
    assert st(1, 1).missing_taskmanagers == 1
    assert st(0, 0).missing_taskmanagers == 2
