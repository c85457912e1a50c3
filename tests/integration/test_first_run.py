"""A first run that cannot fail halfway: expected errors are one line and exit 2, and a failed
``userpulse up`` stops what it started (and only that).

Every case runs the real CLI (``python -m userpulse``) in a child process with its own home and
free ports; the failing one starts a real Kafka broker.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import REPO_ROOT
from tests.integration.conftest import _free_ports
from userpulse.settings import Settings
from userpulse.stack import KafkaBroker

pytestmark = pytest.mark.integration


@pytest.fixture
def home() -> Iterator[Path]:
    """A home of its own under .userpulse/test (removed afterwards)."""
    h = REPO_ROOT / ".userpulse" / "test" / f"first-run-{uuid.uuid4().hex[:8]}"
    yield h
    shutil.rmtree(h, ignore_errors=True)


def _cli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("USERPULSE_")}
    return subprocess.run(
        [sys.executable, "-m", "userpulse", *args],
        env={**base, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single ``error: ...`` line of a CLI run that failed as expected (exit 2)."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return lines[0]


def test_bad_setting_is_one_line_naming_it(home: Path) -> None:
    line = _one_line(
        _cli("status", env={"USERPULSE_HOME": str(home), "USERPULSE_KAFKA_PORT": "ninety"})
    )
    assert "kafka_port" in line and "'ninety'" in line


def test_unreachable_redis_for_a_lookup_is_one_line(home: Path) -> None:
    port = _free_ports(1)[0]
    env = {"USERPULSE_HOME": str(home), "USERPULSE_REDIS_PORT": str(port)}
    line = _one_line(_cli("features", "get", "u1", env=env, timeout=60))
    assert f"Redis at 127.0.0.1:{port} unavailable" in line


def test_missing_redis_server_is_one_line_naming_the_tool(home: Path, tmp_path: Path) -> None:
    """With an external Kafka (no broker to start), Redis is the first thing `up` needs."""
    bin_dir = tmp_path / "bin"  # PATH without redis-server (but with java for the broker)
    bin_dir.mkdir()
    for tool in ("java",):
        exe = shutil.which(tool)
        assert exe is not None
        (bin_dir / tool).symlink_to(exe)
    kafka_port, redis_port = _free_ports(2)
    env = {
        "PATH": str(bin_dir),
        "USERPULSE_HOME": str(home),
        "USERPULSE_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
        "USERPULSE_REDIS_PORT": str(redis_port),
    }
    line = _one_line(_cli("up", env=env, timeout=60))
    assert "'redis-server' not found" in line and "apt-get install redis-server" in line


def test_failed_up_stops_the_broker_it_started_and_only_that(home: Path) -> None:
    """Redis's port is taken by a plain socket (not a Redis): the broker this `up` started is
    stopped again, and the socket (not ours) is left alone."""
    ports = ("kafka_port", "kafka_controller_port", "redis_port")
    settings = Settings(_env_file=None, home=home, **dict(zip(ports, _free_ports(3), strict=True)))  # type: ignore[call-arg, arg-type]
    kafka_port, controller_port, redis_port = (getattr(settings, p) for p in ports)
    env = {f"USERPULSE_{k.upper()}": str(getattr(settings, k)) for k in ("home", *ports)}
    with socket.create_server(("127.0.0.1", redis_port)) as squatter:
        done = _cli("up", env=env)
        line = _one_line(done)
        assert line.startswith("error: redis (pid ")
        assert "stopped again what this call had started: kafka" in line
        broker = KafkaBroker(settings)
        assert broker.pid() is None and not broker.pid_file.exists()
        for port in (kafka_port, controller_port):
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        # the started broker did get that far: it wrote its log, then was stopped
        assert broker.log_file.exists()
        # the socket that was there before (not ours to stop) still accepts connections
        socket.create_connection(("127.0.0.1", redis_port), timeout=2).close()
        assert squatter.accept()[0] is not None
