"""The TaskManager JVMs' CPU by thread group from ``/proc`` (JIT compilers and collector apart,
which JFR's execution samples never see), and waiting until the JIT settles: used by
:mod:`bench.jvm_profile` and the warm-up (:mod:`bench.warmup`)."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

THREAD_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("jit", ("C1 CompilerThre", "C2 CompilerThre")),
    ("gc", ("GC Thread", "G1 ", "VM Thread", "VM Periodic")),
    ("source fetcher", ("Source Data Fet",)),
    ("source task", ("Source: ",)),
    ("features task", ("features",)),
    ("network flusher", ("OutputFlusher",)),
    ("checkpoints", ("AsyncOperations",)),
)
"""Thread name (``/proc/<pid>/task/<tid>/stat``: the first 15 characters of the Java name, or the
JVM's own names) prefixes -> group, first match wins, else ``other``: HotSpot's JIT compilers,
the collector's and VM threads (which JFR's execution samples never see), the Kafka source's
fetcher, the source task (reader, decode, chained), the keyed task (the features function and the
Redis writer chained, ``jobs/pipeline.py``'s operator name ``features``), the network buffers'
flusher (``buffer_timeout_ms``), the asynchronous part of checkpoints."""


def thread_group(name: str) -> str:
    """The :data:`THREAD_GROUPS` group of a thread name as ``/proc`` shows it."""
    for group, prefixes in THREAD_GROUPS:
        if name.startswith(prefixes):
            return group
    return "other"


def thread_ticks(pids: list[int]) -> dict[tuple[int, int], tuple[str, int]]:
    """``(pid, tid) -> (thread name, utime + stime in clock ticks)`` of every thread of ``pids``
    now (threads that end meanwhile are skipped)."""
    out: dict[tuple[int, int], tuple[str, int]] = {}
    for pid in pids:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            out[(pid, int(tid))] = (name, int(fields[11]) + int(fields[12]))
    return out


def ticks_by_group(
    before: dict[tuple[int, int], tuple[str, int]], after: dict[tuple[int, int], tuple[str, int]]
) -> Counter[str]:
    """Clock ticks per :func:`thread_group` between two :func:`thread_ticks` (a thread that
    started in between counts from 0)."""
    out: Counter[str] = Counter()
    for key, (name, ticks) in after.items():
        out[thread_group(name)] += ticks - before.get(key, (name, 0))[1]
    return out


def jit_cores(
    before: dict[tuple[int, int], tuple[str, int]],
    after: dict[tuple[int, int], tuple[str, int]],
    wall_s: float,
) -> float:
    """Cores the JIT compiler threads used between two :func:`thread_ticks` ``wall_s`` s apart."""
    if wall_s <= 0:
        raise ValueError(f"wall_s must be > 0, got {wall_s}")
    return ticks_by_group(before, after).get("jit", 0) / os.sysconf("SC_CLK_TCK") / wall_s


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all its threads), clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


SETTLE_WINDOW_S = 5.0
SETTLE_JIT_CORES = 0.05
SETTLE_MAX_S = 60.0
DRAIN_MAX_S = 30.0
"""After JFR starts: windows of 5 s under load until the JIT compilers use < 0.05 cores (the
warm-up's threshold, bench/warmup.py), at most 60 s, then at most 30 s more until the backlog
is drained, before the measured window."""


def settle(pids: list[int], max_s: float) -> list[float]:
    """Wait in :data:`SETTLE_WINDOW_S` windows until the JIT threads of ``pids`` used less than
    :data:`SETTLE_JIT_CORES` cores in one, or ``max_s`` s passed; the JIT cores of each window."""
    cores: list[float] = []
    t_end = time.monotonic() + max_s
    while time.monotonic() < t_end:
        before, t0 = thread_ticks(pids), time.monotonic()
        time.sleep(min(SETTLE_WINDOW_S, max(0.5, t_end - t0)))
        cores.append(round(jit_cores(before, thread_ticks(pids), time.monotonic() - t0), 3))
        if cores[-1] < SETTLE_JIT_CORES:
            break
    return cores
