"""The systems under test: the userpulse job (on the local Flink session cluster, or local
execution) and the Quix Streams peer (a process).

Each :class:`System` reads one topic, exposes a Prometheus counter of records it has taken in
(``counted``), and writes a per-user marker to Redis that the freshness probe polls
(:meth:`System.readable`): ``ls`` (newest event time) in ``up:v1:{user}`` for userpulse (its
layout module, ``userpulse/layout.py``), in ``peer:{user}`` for the peer. Processes run in their own
session and are stopped by their process-group id (SIGTERM, then SIGKILL after a grace period).
:class:`ClusterJob` is the job submitted to the session cluster (``userpulse cluster up``) with
``userpulse.jobs.control.submit`` (what ``userpulse job submit -p N`` does) and cancelled when
stopped; its
counter is the sum over the TaskManagers' metric endpoints (one port each, from the configured
one up).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

import redis
from confluent_kafka import Consumer, KafkaException, TopicPartition

from bench import REPO_ROOT
from userpulse import layout
from userpulse.settings import Settings


class BenchError(Exception):
    """A system did not start or the stack is not usable (the message says what to do)."""


def scrape(port: int, metric: str) -> float | None:
    """Value of the un-labelled sample ``metric`` at ``127.0.0.1:port/metrics``; None if down."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as resp:
            body = resp.read().decode()
    except OSError:
        return None
    prefix = metric + " "
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line.split()[1])
    return 0.0


class TopicSize:
    """Records in a topic now: the sum over partitions of the high watermark (one client)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._c = Consumer({"bootstrap.servers": bootstrap, "group.id": "userpulse-bench-sizer"})
        md = self._c.list_topics(topic, timeout=10)
        self._parts = [TopicPartition(topic, p) for p in md.topics[topic].partitions]

    def __call__(self, deadline_s: float = 60.0) -> int:
        """Sum of high watermarks (all records ever appended), records.

        A broker too busy to answer one partition's query within 5 s is asked again until
        ``deadline_s`` (seconds) has passed; then the last :class:`KafkaException` is raised.
        """
        end = time.monotonic() + deadline_s
        total = 0
        for tp in self._parts:
            while True:
                try:
                    total += self._c.get_watermark_offsets(tp, timeout=5)[1]
                    break
                except KafkaException:
                    if time.monotonic() >= end:
                        raise
                    time.sleep(0.5)
        return total

    def close(self) -> None:
        """Close the client."""
        self._c.close()


class System:
    """A stream processor run as a child process for the benchmark.

    Args:
        name: ``userpulse`` or ``peer``.
        argv: command line of the process.
        metrics_port: where its Prometheus endpoint listens.
        counter: metric name of the records taken in.
        log_path: file for the process's stdout and stderr.
        env: extra environment variables.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        metrics_port: int,
        counter: str,
        log_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.metrics_port = metrics_port
        self.counter = counter
        self.log_path = log_path
        self.env = env or {}
        self.base_lag = 0.0
        """Topic size minus counted once warmed up (records the system never counts)."""
        self.is_userpulse = name.startswith("userpulse")
        """Redis marker in the job's layout (``up:v1:{user}``), else ``<name>:{user}``."""
        self.warmup_jit_cores: float | None = None
        """Cores the TaskManagers' JIT compilers used in the last warm-up window (session
        cluster jobs; bench/run.py), None when not measured."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        """Start the process (its own session) and return at once."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            self.argv,
            cwd=REPO_ROOT,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def counted(self) -> float | None:
        """Records the system has taken in so far (its counter); None while not up."""
        return scrape(self.metrics_port, self.counter)

    def wait_counted(self, at_least: float, timeout_s: float) -> float:
        """Wait until :meth:`counted` reaches ``at_least``; returns it.

        Raises:
            BenchError: the process died or the timeout passed (the message names its log).
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self._proc.returncode}; see {self.log_path}"
                )
            c = self.counted()
            if c is not None and c >= at_least:
                return c
            time.sleep(0.5)
        raise BenchError(
            f"{self.name} did not count {at_least:.0f} records in {timeout_s:.0f} s; "
            f"see {self.log_path}"
        )

    def readable(self, r: redis.Redis, user_id: str, event_time_ms: int) -> bool:
        """True when the system's Redis marker of ``user_id`` has reached ``event_time_ms``."""
        key = layout.user_key(user_id) if self.is_userpulse else f"{self.name}:{{{user_id}}}"
        field = layout.META_LAST_SEEN if self.is_userpulse else "ls"
        v = r.hget(key, field)
        return v is not None and int(v) >= event_time_ms

    @property
    def pid(self) -> int | None:
        """Pid of the process (its process group id too), None before :meth:`start`."""
        return None if self._proc is None else self._proc.pid

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace_s`` seconds."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
        self._proc = None


class ClusterJob(System):
    """The feature job on the local Flink session cluster at ``parallelism``.

    :meth:`start` submits it (``userpulse.jobs.control.submit``, as ``userpulse job submit -p N``;
    returns
    once every task runs), :meth:`stop` cancels it (``userpulse job cancel``). Its settings go to
    the job as ``USERPULSE_*`` variables (topic, group, metrics port). ``counted`` sums
    ``userpulse_events_counted_total`` over ``metrics_port .. metrics_port + ports - 1`` (the
    JVM workers of each TaskManager take the first free port from ``metrics_port``; an endpoint
    lives as long as the job's operators in that TaskManager, so counters start at 0 per job).

    Args:
        name: system name (``userpulse-p1``, ``userpulse-p2``).
        settings: the bench's settings (stack ports, Flink REST port).
        topic: input topic (dead-letter and late topics: the settings' own).
        parallelism: job parallelism (needs as many free slots).
        metrics_port: first port of the workers' endpoints.
        ports: how many ports to scrape (the TaskManagers of the cluster).
        log_path: a small log of the submission (Flink's own logs: ``<home>/flink/log``).
    """

    def __init__(
        self,
        name: str,
        settings: Settings,
        topic: str,
        parallelism: int,
        metrics_port: int,
        ports: int,
        log_path: Path,
    ) -> None:
        super().__init__(name, [], metrics_port, "userpulse_events_counted_total", log_path)
        self.parallelism = parallelism
        self.ports = ports
        self.job_settings = settings.model_copy(
            update={
                "topic": topic,
                "group_id": f"bench.{topic}.p{parallelism}.{int(time.time())}",
                "job_metrics_port": metrics_port,
            }
        )
        self.job_id: str | None = None

    def start(self) -> None:
        """Submit the job and wait until its tasks run.

        Raises:
            BenchError: the submission failed (Flink's root cause in the message).
        """
        from userpulse.jobs import control

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        try:
            self.job_id = control.submit(self.job_settings, parallelism=self.parallelism)
        except control.JobControlError as exc:
            self.log_path.write_text(f"submit failed: {exc}\n")
            raise BenchError(f"{self.name}: submit failed: {exc}") from exc
        self.log_path.write_text(
            f"job {self.job_id} p={self.parallelism} topic={self.job_settings.topic} "
            f"running {time.monotonic() - t0:.1f} s after submit\n"
        )

    def counted(self) -> float | None:
        """Sum of the workers' counters; None while no endpoint answers."""
        vals = [scrape(self.metrics_port + k, self.counter) for k in range(self.ports)]
        up = [v for v in vals if v is not None]
        return sum(up) if up else None

    def wait_counted(self, at_least: float, timeout_s: float) -> float:
        """As :meth:`System.wait_counted`; fails early when the job is no longer running."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            c = self.counted()
            if c is not None and c >= at_least:
                return c
            state = self.state()
            if state not in ("RUNNING", "CREATED", "INITIALIZING", "RESTARTING", None):
                raise BenchError(f"{self.name}: job {self.job_id} is {state}")
            time.sleep(0.5)
        raise BenchError(
            f"{self.name} did not count {at_least:.0f} records in {timeout_s:.0f} s; see "
            f"{self.job_settings.home / 'flink' / 'log'}"
        )

    def state(self) -> str | None:
        """The job's state as the REST API reports it (None when unknown)."""
        from userpulse.jobs import control

        if self.job_id is None:
            return None
        try:
            return str(control.FlinkRest(self.job_settings.rest_url).job(self.job_id)["state"])
        except control.JobControlError:
            return None

    @property
    def pid(self) -> int | None:
        """None: the job runs in the TaskManagers (:func:`taskmanager_pids`)."""
        return None

    def stop(self, grace_s: float = 20.0) -> None:
        """Cancel the job (no savepoint) and wait until it is CANCELED."""
        from userpulse.jobs import control

        if self.job_id is None:
            return
        try:
            control.cancel(self.job_settings, self.job_id)
        except control.JobControlError as exc:
            with self.log_path.open("a") as f:
                f.write(f"cancel: {exc}\n")
        self.job_id = None


def free_port_span(n: int, lo: int = 20_000, hi: int = 40_000) -> int:
    """A port ``p`` with ``p .. p + n - 1`` all free on loopback now (random in ``[lo, hi)``)."""
    import random
    import socket

    for _ in range(200):
        p = random.randrange(lo, hi - n)
        socks = []
        try:
            for k in range(n):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", p + k))
            return p
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise BenchError(f"no {n} consecutive free ports in {lo}..{hi}")


def taskmanager_pids(settings: Settings) -> list[int]:
    """Pids of the local session cluster's TaskManager JVMs."""
    from userpulse.stack.flink import FlinkCluster

    return sorted(FlinkCluster(settings).pids()["taskexecutor"])


def userpulse_job(settings: Settings, topic: str, metrics_port: int, log_dir: Path) -> System:
    """The feature job (``userpulse job run``, unbounded, local execution) on ``topic``."""
    group = f"bench.{topic}"
    return System(
        "userpulse-local",
        [sys.executable, "-m", "userpulse", "job", "run", "--topic", topic, "--group-id", group],
        metrics_port,
        "userpulse_events_counted_total",
        log_dir / "userpulse-job.log",
        env={"USERPULSE_JOB_METRICS_PORT": str(metrics_port)},
    )


def quix_peer(
    peer_python: Path,
    settings: Settings,
    topic: str,
    metrics_port: int,
    log_dir: Path,
    windows: str = "sliding",
) -> System:
    """The Quix Streams peer (``bench/peer_quix.py`` in its own venv) on ``topic``.

    ``windows``: ``sliding`` (system name ``peer``, keys ``peer:{user}``) or ``tiles`` (name
    ``peer-tiles``, keys ``peer-tiles:{user}``).

    Raises:
        BenchError: the peer's interpreter is missing (``make bench`` creates ``.venv-peer``).
    """
    if not peer_python.exists():
        raise BenchError(
            f"{peer_python} not found; run `make bench-peer-venv` (or set BENCH_PEER_PYTHON)"
        )
    name = "peer" if windows == "sliding" else "peer-tiles"
    state = settings.home / "bench" / f"{name}-state-{topic}"
    return System(
        name,
        [
            str(peer_python),
            str(REPO_ROOT / "bench" / "peer_quix.py"),
            "--topic",
            topic,
            "--group-id",
            f"bench.peer.{topic}",
            "--metrics-port",
            str(metrics_port),
            "--state-dir",
            str(state),
            "--grace-ms",
            str(settings.allowed_lateness_ms),
            "--windows",
            windows,
            "--prefix",
            name,
        ],
        metrics_port,
        "peer_events_processed_total",
        log_dir / f"{name}.log",
    )
