"""The fault-matrix harness (issue 12): known events through the real job on a local session
cluster, one fault after another, and after each every feature of every user against the
reference (:mod:`userpulse.reference` through :func:`userpulse.compare.compare`).

A :class:`Drill` owns one job (submitted through :mod:`userpulse.jobs.control`, with the test hook
of :mod:`tests.integration.variant_entry` in place but unarmed), a background
:class:`~tests.integration.chaos_traffic.Streamer` that produces synthetic events at a fixed rate,
and the figures of each row:

    lost            events of a user missing from its lifetime counts (sum over users)
    double_counted  lifetime counts above the events sent (sum over users)
    mismatches      features that differ from the reference (or are not ``present``)
    counted + late + dead_lettered = input

The rows themselves (what to break and how to recover) are in
:mod:`tests.integration.chaos_rows`. Times are seconds (``*_s``) unless named ``*_ms``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import REPO_ROOT
from tests.integration.chaos_traffic import Form, Streamer
from tests.integration.flinkkit import LIFETIME
from tests.integration.jobkit import drop_topics, flush_redis, job_settings, read_topic
from userpulse.compare import compare
from userpulse.jobs import control
from userpulse.lookup import FeatureClient
from userpulse.settings import Settings
from userpulse.stack.flink import FlinkCluster
from userpulse.stack.kafka import KafkaBroker
from userpulse.stack.process import StackError
from userpulse.stack.redis_server import RedisServer

VARIANT = REPO_ROOT / "tests" / "integration" / "variant_entry.py"


@dataclass
class Figures:
    """The outcome of one row (see the module docstring); ``extra`` holds row-specific
    measurements (seconds unless the name says otherwise)."""

    row: str
    fault: str
    form: str
    input: int = 0
    counted: int = 0
    late: int = 0
    dead_lettered: int = 0
    lost: int = 0
    double_counted: int = 0
    mismatches: int = 0
    first_write_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        """counted + late + dead-lettered = input."""
        return self.counted + self.late + self.dead_lettered == self.input

    @property
    def exact(self) -> bool:
        """lost = 0, double counted = 0, no mismatch, balanced, and no row check failed."""
        clean = self.lost == 0 and self.double_counted == 0 and self.mismatches == 0
        return clean and self.balanced and not self.problems


class Drill:
    """One job on the session cluster of ``flink`` (settings of :func:`flinkkit.flink`) with its
    own topics, fed by a :class:`Streamer`; :meth:`run_row` applies one row of the matrix.

    Args:
        flink: the test stack plus the session cluster's ports.
        form: :data:`SHORT` or :data:`LONG`.
        parallelism: of the job (2: one subtask in each of the 2 TaskManagers).
        hook_times, hook_every: the test hook (row 3): throws in total once armed, and at
            every how many events per subtask.
        overrides: more settings of the job (e.g. ``restart_attempts`` for a control).

    The job checkpoints every ``form.checkpoint_interval_ms`` and its restarts back off at most
    2 s (``restart_max_backoff_ms``), so 20 exceptions take seconds, not minutes.
    """

    def __init__(
        self,
        flink: Settings,
        form: Form,
        parallelism: int = 2,
        hook_times: int = 5,
        hook_every: int = 40,
        **overrides: Any,
    ) -> None:
        self.form = form
        self.s = job_settings(
            flink,
            partitions=2,
            checkpoint_interval_ms=form.checkpoint_interval_ms,
            restart_max_backoff_ms=2_000,
            **overrides,
        )
        self.parallelism = parallelism
        self.cluster = FlinkCluster(self.s)
        self.hook_dir = self.s.home / "chaos-hook" / self.s.topic
        self.hook_times = hook_times
        self.entry_args = (
            "--variant",
            "throwing-step",
            "--hook-dir",
            str(self.hook_dir),
            "--times",
            str(hook_times),
            "--every",
            str(hook_every),
        )
        self.client = FeatureClient.from_settings(self.s)
        self.streamer = Streamer(self.s, form)
        self.job = ""
        self.results: list[Figures] = []

    # --- the job ---------------------------------------------------------------------------
    def submit(self, from_path: str | None = None, parallelism: int | None = None) -> float:
        """Submit the job (from a checkpoint when given); returns the seconds it took."""
        t0 = time.monotonic()
        self.job = control.submit(
            self.s,
            parallelism=parallelism or self.parallelism,
            from_path=from_path,
            entry=VARIANT,
            entry_args=self.entry_args,
        )
        return time.monotonic() - t0

    def start(self) -> None:
        """Empty Redis, submit the job, start streaming."""
        flush_redis(self.s)
        self.submit()
        self.streamer.resume()

    def job_state(self) -> str:
        """The job's state over REST (``RUNNING``, ``RESTARTING``, ``FAILED`` ...)."""
        return str(control.FlinkRest(self.s.rest_url).job(self.job)["state"])

    def wait_running(self, timeout_s: float = 120.0) -> float:
        """Seconds until the job and all its tasks run again (``inf`` on timeout or when the job
        failed for good)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            try:
                info = control.FlinkRest(self.s.rest_url, timeout_s=3.0).job(self.job)
            except control.JobControlError:
                info = {"state": "", "vertices": []}
            tasks = [v["status"] for v in info["vertices"]]
            if info["state"] == "RUNNING" and all(t == "RUNNING" for t in tasks):
                return time.monotonic() - t0
            if info["state"] == "FAILED":
                break
            time.sleep(0.3)
        return float("inf")

    def busy_taskmanagers(self) -> list[int]:
        """Pids of the TaskManagers that run a subtask of the job (REST
        ``/jobs/:id/vertices/:vid/taskmanagers``: a TaskManager's id is ``host:<rpc port>-<hex>``;
        the pid is the one of our TaskManagers listening on that port)."""
        rest = control.FlinkRest(self.s.rest_url)
        ports = set()
        for v in rest.job(self.job)["vertices"]:
            got = rest.get(f"/jobs/{self.job}/vertices/{v['id']}/taskmanagers")
            for tm in got["taskmanagers"]:
                if tm.get("status") == "RUNNING" or tm.get("status-counts", {}).get("RUNNING"):
                    ports.add(int(str(tm["taskmanager-id"]).split(":")[1].split("-")[0]))
        pids = self.cluster.pids()["taskexecutor"]
        return [pid for pid in pids if listening_ports(pid) & ports]

    def attempts(self) -> int:
        """The sum of the attempt numbers of the job's subtasks: it grows as soon as Flink
        restarts a subtask (REST ``/jobs/:id/vertices/:vid``, cached by the JobManager for
        ``web.refresh-interval``, 3 s; the ``numRestarts`` metric lags up to 10 s, the metric
        fetcher's interval)."""
        rest = control.FlinkRest(self.s.rest_url)
        total = 0
        for v in rest.job(self.job)["vertices"]:
            got = rest.get(f"/jobs/{self.job}/vertices/{v['id']}")
            total += sum(int(t.get("attempt", 0)) for t in got["subtasks"])
        return total

    def restarts(self) -> int:
        """How often Flink restarted the job (REST metric ``numRestarts``)."""
        got = control.FlinkRest(self.s.rest_url).get(f"/jobs/{self.job}/metrics?get=numRestarts")
        return int(got[0]["value"]) if got else 0

    # --- measuring -------------------------------------------------------------------------
    def users(self) -> list[str]:
        """Users with at least one event sent so far."""
        return sorted({e.user_id for e in self.streamer.sent})

    def lifetime(self, users: list[str]) -> dict[str, int]:
        """User -> the sum of its lifetime counts in Redis (batches of 500 users)."""
        out: dict[str, int] = {}
        for i in range(0, len(users), 500):
            got = self.client.get_many(users[i : i + 500], list(LIFETIME))
            out.update({u: sum(int(r[n].value or 0) for n in LIFETIME) for u, r in got.items()})
        return out

    def statuses(self, users: list[str]) -> Counter[str]:
        """How many of ``users`` read each status (``present``, ``rewriting``, ...) for one
        lifetime feature (batches of 500 users)."""
        out: Counter[str] = Counter()
        name = next(iter(LIFETIME))
        for i in range(0, len(users), 500):
            got = self.client.get_many(users[i : i + 500], [name])
            out.update(r[name].status.value for r in got.values())
        return out

    def counted(self) -> int:
        """Events counted in Redis over every user sent so far."""
        return sum(self.lifetime(self.users()).values())

    def first_write_s(self, timeout_s: float = 60.0) -> float:
        """Seconds from now until the lifetime counts in Redis grow (the job writes again)."""
        t0, base = time.monotonic(), self.counted()
        while time.monotonic() - t0 < timeout_s:
            if self.counted() > base:
                return time.monotonic() - t0
            time.sleep(0.2)
        return float("inf")

    def settle(self, timeout_s: float = 120.0) -> None:
        """Pause the stream and wait until Redis counts every event sent (or the timeout)."""
        self.streamer.pause()
        want = len(self.streamer.sent)
        deadline = time.monotonic() + timeout_s
        while self.counted() < want and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1.0)  # a double count shows as more than `want`: give it a moment

    def too_slow(self, fig: Figures, what: str, took_s: float, limit_s: float) -> None:
        """Record ``what`` took ``took_s`` seconds; a problem of the row when over ``limit_s``
        and the form checks times."""
        fig.extra[what] = took_s
        if took_s > limit_s and self.form.timed_checks:
            fig.problems.append(f"{what} {took_s:.1f} s (> {limit_s:.0f} s)")

    def measure(self, fig: Figures) -> Figures:
        """Fill ``fig`` from Redis, the late and dead-letter topics and the reference."""
        sent = self.streamer.sent
        fig.input = len(sent)
        want = Counter(e.user_id for e in sent)
        got = self.lifetime(list(want))
        for u, n in want.items():
            have = got[u]
            fig.counted += have
            fig.lost += max(0, n - have)
            fig.double_counted += max(0, have - n)
        fig.late = len(read_topic(self.s, self.s.late_topic, 3))
        dead = read_topic(self.s, self.s.dead_letter_topic, 3)
        # a store error (row 7a) is a report about a user, not an input record: its events are
        # counted (held in state), so it stays out of counted + late + dead-lettered = input
        store_errors = [d for d in dead if d.get("error_class") == "store_error"]
        fig.dead_lettered = len(dead) - len(store_errors)
        if store_errors:
            fig.extra["store_errors"] = len(store_errors)
        end = max(e.event_time_ms for e in sent)
        try:
            fig.mismatches = compare(self.client, sent, as_of=[end]).mismatches
        except AssertionError as e:  # a feature that is not `present` where it must be
            fig.mismatches = max(1, fig.mismatches)
            fig.problems.append(f"compare: {str(e)[:200]}")
        return fig

    def run_row(self, row: Any) -> Figures:
        """Stream, apply ``row`` (a :class:`tests.integration.chaos_rows.Row`), stream on, settle,
        measure; the figures are kept in :attr:`results` and returned."""
        fig = Figures(row.id, row.fault, self.form.name)
        if not self.streamer._run.is_set():
            self.streamer.resume()
        time.sleep(self.form.before_s)
        row.inject(self, fig)
        time.sleep(self.form.after_s)
        self.settle()
        self.measure(fig)
        self.results.append(fig)
        print(f"row {fig.row}: {fig}", flush=True)  # progress (pytest -s)
        return fig

    def close(self) -> None:
        """Stop streaming, bring back what a failed row may have left down (broker, Redis,
        TaskManagers), cancel the job, delete the topics."""
        self.streamer._run.clear()
        for restore in (KafkaBroker(self.s).start, RedisServer(self.s).start, self.cluster.up):
            try:
                restore()
            except StackError as e:
                print(f"could not restore the stack: {e}")
        self.streamer.close()
        try:
            if self.job and self.job_state() not in ("FAILED", "CANCELED", "FINISHED"):
                control.cancel(self.s, self.job)
        except control.JobControlError:
            pass  # the cluster is gone: nothing to cancel
        drop_topics(self.s)


def listening_ports(pid: int) -> set[int]:
    """TCP ports process ``pid`` listens on (Linux ``/proc``: its socket inodes matched with
    ``/proc/net/tcp`` and ``tcp6`` rows in state ``0A``, LISTEN)."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir() if fd_dir.exists() else []:
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:
                ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


def report(results: list[Figures], path: Path) -> str:
    """Write ``results`` as JSON to ``path`` and return them as a Markdown table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**dataclasses.asdict(f), "exact": f.exact} for f in results]
    path.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    head = "| row | fault | form | input | counted | late | dlq | lost | double | mismatches "
    head += "| first write s | extra | exact |\n|" + " --- |" * 13
    lines = [head]
    for f in results:
        fw = "-" if f.first_write_s is None else f"{f.first_write_s:.1f}"
        extra = ", ".join(
            f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in f.extra.items()
        )
        lines.append(
            f"| {f.row} | {f.fault} | {f.form} | {f.input} | {f.counted} | {f.late} | "
            f"{f.dead_lettered} | {f.lost} | {f.double_counted} | {f.mismatches} | {fw} | "
            f"{extra} | {'yes' if f.exact else 'NO: ' + '; '.join(f.problems)} |"
        )
    return "\n".join(lines)
