"""The warm-up of a system before its throughput search (``make bench``): start it, wait for its
first record, for a session-cluster job start and stop a JFR recording when the bench profiles
(its JIT burst belongs here), drive unmeasured load at half the first rate, and, for a
session-cluster job, more of it until its TaskManagers' JIT compilers have settled; then wait for
the backlog to drain."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench import jvm_profile, jvm_threads
from bench.config import BenchConfig
from bench.search import finish_producer, start_producer, wait_drained
from bench.systems import ClusterJob, System, TopicSize, taskmanager_pids
from userpulse.settings import Settings

WARMUP_TIMEOUT_S = 240.0
WARMUP_LOAD_S = 20.0
"""Seconds of load at half the first rate before the search starts (not measured)."""
JIT_WINDOW_S = 10.0
JIT_SETTLED_CORES = 0.05
JIT_SETTLE_MAX_S = 120.0
"""After the warm-up load, a userpulse job gets more of it, ``JIT_WINDOW_S`` at a time, until
its TaskManagers' JIT compiler threads used less than ``JIT_SETTLED_CORES`` cores over a window
(at most ``JIT_SETTLE_MAX_S`` s more): 15-45 s after a submission at 5,000/s they took 0.1-0.2
cores of the two (bench/jvm_threads.py, ``jit``), a start-up cost the search would otherwise
count against the job's steady rate."""
DRAIN_S = 180.0
"""Longest wait for the warm-up's backlog to drain."""


def start_warm(
    system: System,
    settings: Settings,
    topic: str,
    cfg: BenchConfig,
    warm_rate: float,
    log: Callable[[str], None],
) -> TopicSize:
    """Start the system, wait for its first record, warm it up (not measured); its topic size.

    Args:
        system: the system under test, not started yet.
        settings: the stack's settings (bootstrap servers; TaskManagers for a session cluster).
        topic: the system's input topic.
        cfg: the bench configuration (``users``).
        warm_rate: warm-up rate, events/s.
        log: progress lines.

    Raises:
        BenchError: the system did not count its first record within ``WARMUP_TIMEOUT_S``.
    """
    from userpulse.events import Event, EventType
    from userpulse.producers.kafka_out import EventSink

    size = TopicSize(settings.kafka_bootstrap, topic)
    try:
        t0 = time.monotonic()
        system.start()
        with EventSink(settings.kafka_bootstrap, topic) as sink:  # the first record starts it
            sink.send(Event("warmup", EventType.CLICK, "warmup", int(time.time() * 1000), "w"))
        system.wait_counted(1, WARMUP_TIMEOUT_S)
        time.sleep(2)
        system.base_lag = size() - (system.counted() or 0)
        log(f"{system.name} is up ({time.monotonic() - t0:.0f} s after the start)")
        if isinstance(system, ClusterJob) and cfg.profile_s > 0:
            # a JVM's first JFR recording sets its JIT compiling for up to a minute: here, in
            # the warm-up, not in the profile after the search (bench/jvm_profile.py, prime)
            jvm_profile.prime(taskmanager_pids(settings), settings.home / "bench" / "jfr")
        # warm-up load (JIT, caches, state of the hot users), not measured
        proc, summary = start_producer(topic, warm_rate, WARMUP_LOAD_S, cfg.users, seed=1)
        finish_producer(proc, summary)
        if isinstance(system, ClusterJob):
            _until_jit_settles(system, settings, topic, cfg, warm_rate, log)
        wait_drained(system, size, system.base_lag, 10, DRAIN_S)
    except BaseException:
        size.close()
        raise
    return size


def _until_jit_settles(
    system: System,
    settings: Settings,
    topic: str,
    cfg: BenchConfig,
    warm_rate: float,
    log: Callable[[str], None],
) -> None:
    """More warm-up load in windows of ``JIT_WINDOW_S`` until the JIT has settled (see
    ``JIT_SETTLED_CORES``); logs each window's JIT cores and records the last in
    ``system.warmup_jit_cores``."""
    pids = taskmanager_pids(settings)
    deadline = time.monotonic() + JIT_SETTLE_MAX_S
    window = 0
    while True:
        window += 1
        before, t0 = jvm_threads.thread_ticks(pids), time.monotonic()
        proc, summary = start_producer(topic, warm_rate, JIT_WINDOW_S, cfg.users, seed=1 + window)
        finish_producer(proc, summary)
        cores = jvm_threads.jit_cores(before, jvm_threads.thread_ticks(pids), time.monotonic() - t0)
        system.warmup_jit_cores = round(cores, 3)
        log(f"{system.name}: warm-up window {window}: JIT compilers used {cores:.2f} cores")
        if cores < JIT_SETTLED_CORES or time.monotonic() > deadline:
            return
