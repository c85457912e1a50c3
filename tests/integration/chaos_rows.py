"""The rows of the fault matrix (issue 12): what each breaks, how the system recovers, and the
row's own checks. Each row is a :class:`Row` whose ``inject`` breaks something while the
:class:`~tests.integration.chaoskit.Drill` streams, performs the documented recovery action
(if any), and records what it measured into the row's
:class:`~tests.integration.chaoskit.Figures`. The drill then settles and compares every feature.

To add a row: write ``def my_fault(drill, fig)`` and add ``Row("6a", "Redis restarted empty",
my_fault)`` to :data:`ROWS`. Durations are the issue's, scaled by the form
(``drill.form.scale``).

Rows 6 and 7 (the store) live in :mod:`tests.integration.chaos_store_rows`. Row 7 of the issue
is its table of store faults: the refused key (7a, case H20), out of memory
(7b, H21), the store restarted empty or from an older snapshot (rows 6a / 6b, H22), the
TaskManager (row 2) and the hung store behind the HTTP service (7e). Rows that are the same
fault are run once, under the lower number.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.integration.chaos_store_rows import (
    key_refused,
    out_of_memory,
    redis_restarted_empty,
    redis_restarted_from_older_snapshot,
    scaled_s,
    service_with_redis_hung,
    stopped,
    user_evicted,
)
from tests.integration.chaos_traffic import HOT_USER, FreshnessProbe
from tests.integration.chaoskit import Drill, Figures
from tests.integration.storekit import wait_for
from userpulse import redis_conn
from userpulse.jobs import control
from userpulse.stack.kafka import KafkaBroker
from userpulse.stack.process import _port_open
from userpulse.stack.redis_server import RedisServer


@dataclass(frozen=True)
class Row:
    """One fault of the matrix.

    Attributes:
        id: the issue's row number plus a letter (``"4b"``).
        fault: what is broken, in words (the report's column).
        inject: ``inject(drill, figures)``: break, recover, record measurements.
        long_only: too slow for ``make test`` (a broker restart is a JVM start; minutes of
            faults); runs in ``make chaos`` only.
    """

    id: str
    fault: str
    inject: Callable[[Drill, Figures], None]
    long_only: bool = False


# --- row 1: the whole cluster killed, resumed from the latest checkpoint ---------------------
def kill_cluster(drill: Drill, fig: Figures, after_checkpoint: bool = True) -> None:
    """kill -9 of every Flink process (right after a checkpoint completed, when asked), then
    ``cluster up`` and ``job resume --latest-checkpoint`` (without -p: the killed job's
    parallelism from the job ledger). Checks: resumed with the same parallelism, first write
    within 30 s of the restart (the job RUNNING again; ``resume_s``, the ``flink run`` client
    until then, is recorded apart: it is the machine's speed, not recovery)."""
    if after_checkpoint:
        control.trigger_checkpoint(drill.s, drill.job)
    old = drill.job
    drill.cluster.kill()
    drill.cluster.up(timeout_s=180)
    checkpoint = control.latest_checkpoint(drill.s, old)
    p = control.stopped_parallelism(drill.s, checkpoint)
    if p != drill.parallelism:
        fig.problems.append(f"resume would use parallelism {p}, not {drill.parallelism}")
    t_submit = time.monotonic()
    fig.extra["resume_s"] = drill.submit(checkpoint, parallelism=p)
    fig.first_write_s = drill.first_write_s()
    fig.extra["first_write_after_submit_s"] = time.monotonic() - t_submit
    drill.too_slow(fig, "first_write_s", fig.first_write_s, 30)


def kill_cluster_3_times(drill: Drill, fig: Figures) -> None:
    """Row 1's long form: three kills, the first right after a checkpoint completed."""
    for i in range(3):
        kill_cluster(drill, fig, after_checkpoint=i == 0)
        time.sleep(drill.form.before_s)


# --- row 2: one TaskManager killed ------------------------------------------------------------
def kill_taskmanager(drill: Drill, fig: Figures) -> None:
    """kill -9 of one TaskManager running a subtask of the job; ``cluster up`` restarts it (in
    a thread, at once). The drill's cluster has a spare slot per TaskManager, so the job
    restarts on the free slots of the other one without waiting for the new TaskManager.
    Checks: `cluster status` sees the missing one (the control: without the restart the
    full-size check fails), job RUNNING again within 30 s of the kill (``running_s``; the
    failover noticed after ``noticed_s``; the process gone after ``dead_s``), cluster back to
    full size (``full_size_s``)."""
    busy = drill.busy_taskmanagers()
    fig.extra["busy_taskmanagers"] = len(busy)  # 2: the spread put one subtask on each
    pid = busy[0] if busy else drill.cluster.pids()["taskexecutor"][0]
    before = drill.attempts()
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    while pid in drill.cluster.pids()["taskexecutor"]:
        time.sleep(0.05)
    fig.extra["dead_s"] = time.monotonic() - t0  # the kernel ends a niced JVM's threads slowly
    missing = drill.cluster.status().missing_taskmanagers
    fig.extra["missing_seen"] = missing
    if missing != 1:
        fig.problems.append(f"cluster status saw {missing} missing TaskManagers, not 1")
    with ThreadPoolExecutor(1) as pool:
        up = pool.submit(drill.cluster.up, timeout_s=120)  # restarts the missing TaskManager
        up.add_done_callback(lambda _: fig.extra.update(full_size_s=time.monotonic() - t0))
        # the job RUNNING again counts only once Flink noticed the loss (a subtask restarted)
        if not wait_for(lambda: drill.attempts() > before, 30, 0.2):
            fig.problems.append("no restart of the job within 30 s of the kill")
        fig.extra["noticed_s"] = time.monotonic() - t0
        drill.wait_running()
        drill.too_slow(fig, "running_s", time.monotonic() - t0, 30)
        up.result()
    if drill.cluster.status().missing_taskmanagers:
        fig.problems.append("the cluster is not back to full size")
    fig.first_write_s = drill.first_write_s()


# --- row 3: exceptions inside the job ---------------------------------------------------------
def throw_in_job(drill: Drill, fig: Figures) -> None:
    """Arm the test hook: it throws ``hook_times`` times. Checks: every throw happened and the
    job never failed for good (RUNNING afterwards). Flink's restart count grows by fewer than
    the throws when both subtasks throw within one failover."""
    before = drill.restarts()
    drill.hook_dir.mkdir(parents=True, exist_ok=True)
    (drill.hook_dir / "armed").touch()
    deadline = time.monotonic() + 60 + 10 * drill.hook_times
    while len(list(drill.hook_dir.glob("throw-*"))) < drill.hook_times:
        if time.monotonic() > deadline or drill.job_state() == "FAILED":
            break
        time.sleep(0.5)
    fig.extra["throws"] = len(list(drill.hook_dir.glob("throw-*")))
    fig.extra["running_s"] = drill.wait_running(timeout_s=60)
    fig.extra["restarts"] = drill.restarts() - before
    state = drill.job_state()
    if state != "RUNNING" or fig.extra["throws"] < drill.hook_times:
        fig.problems.append(f"job {state} after {fig.extra['throws']} throws")
    fig.first_write_s = drill.first_write_s()


# --- row 4: the broker ------------------------------------------------------------------------
def _broker(drill: Drill) -> KafkaBroker:
    return KafkaBroker(drill.s)


def _start_broker(drill: Drill) -> None:
    """Start the broker once the dead one's ports are closed (a JVM whose main thread is already
    a zombie can hold its sockets a moment longer)."""
    s = drill.s
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(
        _port_open(s.kafka_host, p) for p in (s.kafka_port, s.kafka_controller_port)
    ):
        time.sleep(0.2)
    _broker(drill).start()


def broker_stopped(drill: Drill, fig: Figures) -> None:
    """The broker stopped (SIGTERM) for 20 s, then started."""
    _broker(drill).stop()
    time.sleep(scaled_s(drill, 20))
    _start_broker(drill)
    fig.first_write_s = drill.first_write_s()


def broker_killed(drill: Drill, fig: Figures) -> None:
    """kill -9 of the broker, started again at once (log recovery)."""
    pid = _broker(drill).pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    while _broker(drill).pid() is not None:
        time.sleep(0.05)
    _start_broker(drill)
    fig.first_write_s = drill.first_write_s()


def broker_hung(drill: Drill, fig: Figures) -> None:
    """The broker stopped with SIGSTOP for 15 s, then SIGCONT."""
    with stopped(_broker(drill).pid()):
        time.sleep(scaled_s(drill, 15))
    fig.first_write_s = drill.first_write_s()


# --- row 5: Redis -----------------------------------------------------------------------------
def redis_down(drill: Drill, fig: Figures, full_s: float = 10) -> None:
    """Redis shut down (SIGTERM: the AOF is flushed) for 10 s, then started."""
    RedisServer(drill.s).stop()
    time.sleep(scaled_s(drill, full_s))
    RedisServer(drill.s).start()
    fig.first_write_s = drill.first_write_s()


def redis_hung(drill: Drill, fig: Figures, full_s: float = 10) -> None:
    """Redis stopped with SIGSTOP for 10 s (120 s: longer than the checkpoint timeout)."""
    with stopped(RedisServer(drill.s).pid()):
        time.sleep(scaled_s(drill, full_s))
    fig.first_write_s = drill.first_write_s()


def redis_paused_writes(drill: Drill, fig: Figures) -> None:
    """``CLIENT PAUSE 500 WRITE`` every 0.6 s for 30 s (Redis slowed). Checks: checkpoints keep
    completing; the first write after the last pause within 10 s."""
    admin = redis_conn.connect(drill.s, "admin")
    rest = control.FlinkRest(drill.s.rest_url)
    before = rest.get(f"/jobs/{drill.job}/checkpoints")["counts"]["completed"]
    end = time.monotonic() + scaled_s(drill, 30)
    while time.monotonic() < end:
        admin.execute_command("CLIENT", "PAUSE", "500", "WRITE")
        time.sleep(0.6)
    done = rest.get(f"/jobs/{drill.job}/checkpoints")["counts"]["completed"] - before
    fig.extra["checkpoints_during"] = done
    if done < 2:
        fig.problems.append(f"only {done} checkpoints completed while Redis was slowed")
    fig.first_write_s = drill.first_write_s()
    drill.too_slow(fig, "first_write_s", fig.first_write_s, 10)


# --- row 8: hot user --------------------------------------------------------------------------
def hot_user(drill: Drill, fig: Figures) -> None:
    """Half of the traffic from one user for 60 s (the figures check its exact counts). In the
    long form the other users' freshness (:class:`~tests.integration.chaos_traffic.FreshnessProbe`,
    50 users) is measured for 60 s before, during and after it: its p99 during must stay within
    2x of the lower of before and after (a job that is still catching up after its start makes
    "before" slow). The short form in ``make test`` leaves it out (2 minutes more)."""
    timed = drill.form.timed_checks
    probe = FreshnessProbe(drill, [u for u in drill.users() if u != HOT_USER][:50])
    if timed:
        probe.start()
    t0 = time.monotonic()
    time.sleep(scaled_s(drill, 60) if timed else 0)
    t_hot = time.monotonic()
    drill.streamer.hot_share = 0.5
    time.sleep(scaled_s(drill, 60))
    drill.streamer.hot_share = 0.0
    t_end = time.monotonic()
    if not timed:
        return
    time.sleep(scaled_s(drill, 60))
    t_after = time.monotonic()
    time.sleep(3.0)  # the last events become visible
    probe.stop()
    before, hot, after = (
        probe.p99(a, b) for a, b in ((t0, t_hot), (t_hot, t_end), (t_end, t_after))
    )
    fig.extra.update(
        freshness_p99_before_s=before, freshness_p99_hot_s=hot, freshness_p99_after_s=after
    )
    fig.extra["freshness_samples"] = len(probe.samples)
    if not hot <= 2 * min(before, after):
        fig.problems.append(
            f"other users' freshness p99 {hot:.2f} s > 2 x {min(before, after):.2f} s"
        )


ROWS: list[Row] = [
    Row("1", "kill -9 of the cluster after a checkpoint, resume from the latest", kill_cluster),
    Row("2", "kill -9 of a TaskManager", kill_taskmanager),
    Row("3", "exception in the job (test hook)", throw_in_job),
    Row("4a", "broker stopped 20 s", broker_stopped, long_only=True),
    Row("4b", "broker kill -9", broker_killed, long_only=True),
    Row("4c", "broker SIGSTOP 15 s", broker_hung),
    Row("5a", "Redis down 10 s", redis_down),
    Row("5b", "Redis hung 10 s", redis_hung),
    Row("6a", "Redis restarted empty (row 7: H22)", redis_restarted_empty),
    Row(
        "6b",
        "Redis restarted from a 5 s older snapshot (row 7)",
        redis_restarted_from_older_snapshot,
    ),
    Row("6c", "one user's keys evicted", user_evicted),
    Row("7a", "one user's key refused: wrong type (H20)", key_refused),
    Row("7b", "Redis out of memory 25 s (H21)", out_of_memory, long_only=True),
    Row("8", "hot user: 50 % of the traffic", hot_user),
    Row("1L", "kill -9 of the cluster 3 times", kill_cluster_3_times, long_only=True),
    Row("5c", "Redis hung 120 s", lambda d, f: redis_hung(d, f, 120), long_only=True),
    Row("5d", "Redis writes paused (CLIENT PAUSE WRITE loop)", redis_paused_writes, long_only=True),
    Row("7e", "Redis hung 10 s behind the HTTP service", service_with_redis_hung, long_only=True),
]
"""The matrix in the order a drill runs it. Row 7's TaskManager is row 2, its restarts of the
store rows 6a / 6b. 7b and 7e run in ``make chaos`` only (``make test`` has them as
tests/integration/test_store_faults.py's H21 and tests/integration/test_lookup_deadline.py)."""

SOAK_FAULTS = [r for r in ROWS if r.id[0] in "12456" and r.id not in ("1L", "5c", "5d")]


def soak(drill: Drill, fig: Figures, minutes: float = 20.0, seed: int = 9) -> None:
    """Row 9: a random fault of rows 1, 2, 4, 5, 6 every 30-90 s for ``minutes``; the figures are
    the final state. Checks: healthy (first write) within 60 s of the last fault."""
    rnd = random.Random(seed)
    end = time.monotonic() + minutes * 60
    faults: list[str] = []
    while time.monotonic() < end:
        time.sleep(rnd.uniform(30, 90))
        row = rnd.choice(SOAK_FAULTS)
        faults.append(row.id)
        scratch = Figures(row.id, row.fault, fig.form)
        row.inject(drill, scratch)
        fig.problems += [f"{row.id}: {p}" for p in scratch.problems]
    fig.extra["faults"] = " ".join(faults)
    fig.first_write_s = drill.first_write_s()
    drill.too_slow(fig, "first_write_s", fig.first_write_s, 60)
