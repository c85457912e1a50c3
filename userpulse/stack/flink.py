"""The local Flink standalone session cluster, run by the PyFlink distribution's own scripts.

``pip install apache-flink`` ships a Flink distribution inside the ``pyflink`` package (``bin/``,
``lib/``, ``opt/``, ``plugins/``). :class:`FlinkCluster` renders a ``config.yaml`` for this
project under ``<home>/flink/conf`` and starts one JobManager and ``flink_taskmanagers``
TaskManagers with ``bin/jobmanager.sh start`` / ``bin/taskmanager.sh start``, so each
TaskManager is its own JVM with its own embedded Python interpreter (thread mode)::

    <home>/flink/conf/config.yaml   rendered here (plus the distribution's log4j files)
    <home>/flink/log/               JobManager / TaskManager logs (flink-<user>-<daemon>-<n>-*.log)
    <home>/flink/pid/               pid files of the daemons (one line per instance)

The TaskManagers get ``PYTHONPATH`` = the repo + this venv's site-packages (see
:func:`userpulse.jobs.runtime.python_path`), so the job's Python functions import on the workers.
Checkpoints
and savepoints default to ``<home>/checkpoints`` and ``<home>/savepoints``. Flink's Prometheus
reporter is on (``flink_metrics_ports``: JM and each TM take the first free port of the range).

Timeouts are seconds (``*_s``). Errors are :class:`~userpulse.stack.process.StackError` naming the
log to read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from userpulse.pythonpath import worker_python_path
from userpulse.settings import Settings
from userpulse.stack.flink_conf import _yaml_scalar, cluster_config, flink_home
from userpulse.stack.process import StackError, _pid_alive, _port_open, _tail


@dataclass(frozen=True)
class ClusterStatus:
    """What the REST endpoint reports (zeros / ``None`` when the cluster is unreachable), our
    daemons' pids, and how many TaskManagers the cluster should have (``expected``: the count
    ``cluster up`` wrote into ``conf/workers``)."""

    rest_url: str
    reachable: bool
    taskmanagers: int
    slots_total: int
    slots_available: int
    jobs_running: int
    flink_version: str | None
    pids: dict[str, list[int]]
    expected: int = 0

    @property
    def missing_taskmanagers(self) -> int:
        """TaskManagers short of ``expected``: not registered with the JobManager, or registered
        but their process is dead (the JobManager notices a killed one only at its next failed
        heartbeat, seconds later)."""
        alive = len(self.pids.get("taskexecutor", []))
        return max(0, self.expected - min(self.taskmanagers, alive))


class FlinkCluster:
    """A standalone session cluster on this machine (one JobManager, N TaskManagers).

    Args:
        settings: ``home``, ``flink_rest_port``, ``flink_rpc_port``, ``flink_taskmanagers``,
            ``flink_slots_per_taskmanager``, memory sizes, ``flink_metrics_ports``,
            ``checkpoint_dir`` / ``savepoint_dir``, ``python_execution_mode``.
    """

    DAEMONS = ("standalonesession", "taskexecutor")

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.root = settings.home / "flink"
        self.conf_dir = self.root / "conf"
        self.log_dir = self.root / "log"
        self.pid_dir = self.root / "pid"
        self.rest_url = f"http://127.0.0.1:{settings.flink_rest_port}"

    # --- configuration ---------------------------------------------------------------------
    def config(self) -> dict[str, str]:
        """The flat ``config.yaml`` entries of the cluster (:func:`cluster_config`)."""
        return cluster_config(self.s)

    def write_config(self) -> Path:
        """Render ``<home>/flink/conf`` (config.yaml + the distribution's log4j/logback files)."""
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        dist_conf = flink_home() / "conf"
        for f in dist_conf.iterdir():
            if f.name.startswith(("log4j", "logback")):
                shutil.copyfile(f, self.conf_dir / f.name)
        (self.conf_dir / "masters").write_text(f"localhost:{self.s.flink_rest_port}\n")
        (self.conf_dir / "workers").write_text("localhost\n" * self.s.flink_taskmanagers)
        lines = [f"{k}: {_yaml_scalar(v)}" for k, v in self.config().items()]
        path = self.conf_dir / "config.yaml"
        path.write_text(
            "# written by `userpulse cluster up` (userpulse/stack/flink.py); edits are replaced\n"
            + "\n".join(lines)
            + "\n"
        )
        return path

    def write_lib(self) -> Path:
        """``<home>/flink/lib``: links to the distribution's ``lib/*.jar`` plus
        ``opt/flink-python-*.jar`` (the daemons' classpath, ``FLINK_LIB_DIR``)."""
        lib = self.root / "lib"
        if lib.exists():
            shutil.rmtree(lib)
        lib.mkdir(parents=True)
        home = flink_home()
        for jar in [*(home / "lib").glob("*.jar"), *(home / "opt").glob("flink-python-*.jar")]:
            (lib / jar.name).symlink_to(jar)
        return lib

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            FLINK_LIB_DIR=str(self.root / "lib"),
            FLINK_CONF_DIR=str(self.conf_dir),
            FLINK_LOG_DIR=str(self.log_dir),
            FLINK_PID_DIR=str(self.pid_dir),
            PYTHONPATH=worker_python_path(),
        )
        env.pop("FLINK_HOME", None)
        return env

    def _script(self, name: str, *args: str) -> None:
        script = flink_home() / "bin" / name
        res = subprocess.run(
            ["bash", str(script), *args],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if res.returncode != 0:
            raise StackError(
                f"{name} {' '.join(args)} failed ({res.returncode}): {res.stderr.strip()[-800:]}"
            )

    # --- lifecycle -------------------------------------------------------------------------
    def pids(self) -> dict[str, list[int]]:
        """Live pids of our daemons by kind (``standalonesession``, ``taskexecutor``)."""
        out: dict[str, list[int]] = {}
        for daemon in self.DAEMONS:
            found = []
            for f in self.pid_dir.glob(f"flink-*-{daemon}.pid"):
                for line in f.read_text().split():
                    if line.isdigit() and _pid_alive(int(line)):
                        found.append(int(line))
            out[daemon] = found
        return out

    def up(self, timeout_s: float = 120.0) -> ClusterStatus:
        """Start the JobManager and the TaskManagers (no-op for what already runs) and wait until
        the REST API reports ``flink_taskmanagers`` registered TaskManagers.

        On a cluster that is up, this restarts TaskManagers that died (a TaskManager JVM killed
        or crashed): the cluster is back to full size when it returns.

        Raises:
            StackError: the REST port is taken by another process, a daemon died, or the
                TaskManagers did not register within ``timeout_s``.
        """
        s = self.s
        for d in (self.log_dir, self.pid_dir):
            d.mkdir(parents=True, exist_ok=True)
        (s.checkpoint_dir or s.home / "checkpoints").mkdir(parents=True, exist_ok=True)
        s.savepoints.mkdir(parents=True, exist_ok=True)
        pids = self.pids()
        if not pids["standalonesession"] and _port_still_open(s.flink_rest_port, 10.0):
            raise StackError(
                f"port {s.flink_rest_port} is in use by a process that is not our JobManager; "
                "stop it or set USERPULSE_FLINK_REST_PORT"
            )
        self.write_config()
        if not any(pids.values()):
            self.write_lib()
        if not pids["standalonesession"]:
            self._script("jobmanager.sh", "start")
        if not pids["taskexecutor"]:
            from userpulse.stack.flink_code import record_code

            record_code(self)
        before = self._taskmanager_ids() if pids["standalonesession"] else set()
        missing = s.flink_taskmanagers - len(pids["taskexecutor"])
        for _ in range(missing):
            self._script("taskmanager.sh", "start")
        # restarted ones count only once registered (a killed one may still be listed)
        return self._wait_ready(timeout_s, fresh=(before, max(0, missing)))

    def restart_taskmanagers(self, timeout_s: float = 120.0) -> ClusterStatus:
        """Stop every TaskManager and start ``flink_taskmanagers`` new ones (fresh JVMs and
        Python interpreters); waits until only new ones are registered.

        Raises:
            StackError: as :meth:`up`.
        """
        old = self._taskmanager_ids()
        if self.pids()["taskexecutor"]:
            self._script("taskmanager.sh", "stop-all")
        from userpulse.stack.flink_code import record_code

        record_code(self)
        for _ in range(self.s.flink_taskmanagers):
            self._script("taskmanager.sh", "start")
        return self._wait_ready(timeout_s, not_ids=old)

    def _taskmanager_ids(self) -> set[str]:
        try:
            tms = httpx.get(f"{self.rest_url}/taskmanagers", timeout=2.0).json()["taskmanagers"]
        except (httpx.HTTPError, ValueError, KeyError):
            return set()
        return {str(t["id"]) for t in tms}

    def _wait_ready(
        self,
        timeout_s: float,
        not_ids: frozenset[str] | set[str] = frozenset(),
        fresh: tuple[set[str], int] = (set(), 0),
    ) -> ClusterStatus:
        """Wait until ``flink_taskmanagers`` are registered, none of ``not_ids`` is, and at least
        ``fresh[1]`` registered ids are not in ``fresh[0]`` (the TaskManagers just started)."""
        s = self.s
        deadline = time.monotonic() + timeout_s
        status = self.status()
        while time.monotonic() < deadline:
            status = self.status()
            ready = status.reachable and status.taskmanagers >= s.flink_taskmanagers
            ids = self._taskmanager_ids() if ready else set()
            if ready and not (not_ids & ids) and len(ids - fresh[0]) >= fresh[1]:
                return status
            if not self.pids()["standalonesession"]:
                break
            time.sleep(0.5)
        raise StackError(
            f"Flink cluster not ready in {timeout_s:.0f} s (reachable={status.reachable}, "
            f"taskmanagers={status.taskmanagers}/{s.flink_taskmanagers}); see the logs in "
            f"{self.log_dir}:\n{_tail(self._newest_log())}"
        )

    def down(self, timeout_s: float = 60.0) -> None:
        """Stop our TaskManagers and JobManager (running jobs stop without a savepoint: use
        ``userpulse job stop`` first to keep their state)."""
        if not self.conf_dir.exists():
            return
        for daemon, script in (
            ("taskexecutor", "taskmanager.sh"),
            ("standalonesession", "jobmanager.sh"),
        ):
            if self.pids()[daemon]:
                self._script(script, "stop-all")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not any(self.pids().values()) and not _port_open(
                "127.0.0.1", self.s.flink_rest_port
            ):
                return
            time.sleep(0.3)
        raise StackError(f"Flink daemons still running after {timeout_s:.0f} s: {self.pids()}")

    def kill(self) -> list[int]:
        """``kill -9`` every daemon of the cluster (failure drills, case H19); returns the pids."""
        killed = [p for ps in self.pids().values() for p in ps]
        for pid in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        # a JVM's main thread can be a zombie while its other threads still exit and hold the
        # sockets: done when the pids are gone and the REST port is closed
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            any(self.pids().values()) or _port_open("127.0.0.1", self.s.flink_rest_port)
        ):
            time.sleep(0.2)
        for f in self.pid_dir.glob("flink-*.pid"):
            f.unlink()
        return killed

    def expected_taskmanagers(self) -> int:
        """TaskManagers of the cluster as ``cluster up`` configured it (lines of
        ``conf/workers``), else ``settings.flink_taskmanagers``."""
        try:
            return len((self.conf_dir / "workers").read_text().split())
        except OSError:
            return self.s.flink_taskmanagers

    def status(self) -> ClusterStatus:
        """The cluster as its REST API (``/overview``) reports it, plus our daemons' pids and the
        expected number of TaskManagers."""
        expected = self.expected_taskmanagers()
        try:
            ov = httpx.get(f"{self.rest_url}/overview", timeout=2.0).json()
        except (httpx.HTTPError, ValueError):
            return ClusterStatus(self.rest_url, False, 0, 0, 0, 0, None, self.pids(), expected)
        return ClusterStatus(
            self.rest_url,
            True,
            int(ov.get("taskmanagers", 0)),
            int(ov.get("slots-total", 0)),
            int(ov.get("slots-available", 0)),
            int(ov.get("jobs-running", 0)),
            ov.get("flink-version"),
            self.pids(),
            expected,
        )

    def _newest_log(self) -> Path:
        logs = sorted(self.log_dir.glob("*.log"), key=lambda p: p.stat().st_mtime)
        return logs[-1] if logs else self.log_dir / "none.log"


def _port_still_open(port: int, wait_s: float) -> bool:
    """True when the loopback ``port`` accepts connections for ``wait_s`` seconds (a process that
    was just stopped may hold it a moment longer)."""
    deadline = time.monotonic() + wait_s
    while _port_open("127.0.0.1", port):
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.2)
    return False
