"""The machine's CPU by process group over a window: the bench's own load beside the system.

On this 2-core machine the load producer, the broker, Redis, the bench and the system under test
share the cores, so a sustained rate is bounded by all of them together, not by the system alone.
:func:`snapshot` reads every process's CPU time (``/proc/<pid>/stat``: user + system, all
threads) and the machine's busy time (``/proc/stat``); :func:`cores_by_group` turns two
snapshots into cores by group (:func:`latest` merges the snapshots of a window's samples, so
processes that exit early are still counted), :func:`us_per_event` into CPU microseconds per
event, and :func:`table` renders the steps of a ``make bench`` run.

A process belongs to the group its command line names (:data:`GROUPS`), else to the group of its
nearest ancestor that has one (the producer's worker processes, started by multiprocessing, are
the producer's), else ``bench`` for the bench's own process tree, else ``other``. A process that
exited between the two snapshots is not seen (its CPU lands in ``unattributed``, with the
kernel's own threads' and interrupts') unless a merged snapshot (:func:`latest`) saw it; one
that started in between counts from its start.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GROUPS: tuple[tuple[str, str], ...] = (
    ("producer", "userpulse produce"),
    ("peer", "peer_quix.py"),
    ("taskmanager", "TaskManagerRunner"),
    ("jobmanager", "StandaloneSessionClusterEntrypoint"),
    ("job", "userpulse job run"),
    ("broker", "kafka.Kafka"),
    ("redis", "redis-server"),
    ("registry", "apicurio"),
)
"""``(group, substring of the command line)``, first match wins. ``job`` is a local
(``userpulse job run``) job's process tree, ``taskmanager`` / ``jobmanager`` the session
cluster's JVMs."""

_HZ = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    """One process in a snapshot.

    Attributes:
        ppid: parent pid.
        own: the :data:`GROUPS` group its own command line names, or None.
        cpu_s: CPU time so far, user + system, s.
    """

    ppid: int
    own: str | None
    cpu_s: float


@dataclass
class Snapshot:
    """Every process's CPU time and the machine's busy time at one instant.

    Attributes:
        at_s: ``time.monotonic()`` when taken, s.
        busy_s: the machine's busy CPU time since boot (``/proc/stat``: all but idle and
            iowait), s, summed over cores.
        procs: pid -> :class:`Proc`.
    """

    at_s: float
    busy_s: float
    procs: dict[int, Proc] = field(default_factory=dict)


def latest(a: Snapshot, b: Snapshot) -> Snapshot:
    """``b`` with the processes only ``a`` saw (exited in between) kept at their last reading:
    merging every sample's snapshot into one keeps the CPU of processes that end before the
    window does (the load producer's worker processes) instead of losing it. A process keeps
    the group ``a`` read for it when ``b`` reads none: an exited, not yet reaped process (a
    zombie) has an empty command line."""
    procs = {**a.procs}
    for pid, p in b.procs.items():
        old = procs.get(pid)
        if old is not None and p.own is None and old.own is not None:
            p = Proc(p.ppid, old.own, max(p.cpu_s, old.cpu_s))
        procs[pid] = p
    return Snapshot(b.at_s, b.busy_s, procs)


def group_of(cmdline: str) -> str | None:
    """The :data:`GROUPS` group a command line names (arguments joined by spaces), or None."""
    for group, needle in GROUPS:
        if needle in cmdline:
            return group
    return None


def _busy_s() -> float:
    # cpu user nice system idle iowait irq softirq steal ...
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / _HZ


def snapshot() -> Snapshot:
    """Read ``/proc`` now (Linux only). A process that exits while it is read is skipped.

    Raises:
        OSError: ``/proc/stat`` is not readable (not Linux).
    """
    snap = Snapshot(time.monotonic(), _busy_s())
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            raw = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        f = stat.rsplit(")", 1)[1].split()
        # after the name: state ppid ... utime (14th field overall) stime (15th)
        cpu_s = (int(f[11]) + int(f[12])) / _HZ
        snap.procs[int(name)] = Proc(
            int(f[1]), group_of(raw.replace(b"\0", b" ").decode(errors="replace")), cpu_s
        )
    return snap


def _group(pid: int, procs: dict[int, Proc], bench_pid: int) -> str:
    seen = 0
    while pid in procs and seen < 64:  # the ancestor chain; bounded against a pid cycle
        p = procs[pid]
        if p.own is not None:
            return p.own
        if pid == bench_pid:
            return "bench"
        pid, seen = p.ppid, seen + 1
    return "other"


def cores_by_group(a: Snapshot, b: Snapshot, bench_pid: int | None = None) -> dict[str, float]:
    """Cores each group used between snapshots ``a`` and ``b`` (CPU seconds / wall seconds).

    Args:
        a, b: snapshots, ``a`` first.
        bench_pid: the pid whose process tree is ``bench`` (default: this process).

    Returns:
        group -> cores (groups that used none are left out), plus ``machine`` (the whole
        machine's busy cores) and ``unattributed`` (``machine`` minus the groups, >= 0).

    Raises:
        ValueError: ``b`` is not later than ``a``.
    """
    wall = b.at_s - a.at_s
    if wall <= 0:
        raise ValueError(f"snapshot b must be later than a (wall {wall:.3f} s)")
    me = os.getpid() if bench_pid is None else bench_pid
    out: dict[str, float] = {}
    for pid, p in b.procs.items():
        before = a.procs.get(pid)
        used = p.cpu_s - (before.cpu_s if before is not None and before.cpu_s <= p.cpu_s else 0.0)
        if used > 0:
            g = _group(pid, b.procs, me)
            out[g] = out.get(g, 0.0) + used
    cores = {g: round(s / wall, 3) for g, s in sorted(out.items(), key=lambda kv: -kv[1])}
    machine = (b.busy_s - a.busy_s) / wall
    cores["machine"] = round(machine, 3)
    cores["unattributed"] = round(max(0.0, machine - sum(out.values()) / wall), 3)
    return cores


def us_per_event(cores: dict[str, float], events_per_s: float) -> dict[str, float]:
    """CPU microseconds per event by group: ``cores * 1e6 / events_per_s`` (empty when the rate
    is not positive)."""
    if events_per_s <= 0:
        return {}
    return {g: round(c * 1e6 / events_per_s, 1) for g, c in cores.items()}


TABLE_GROUPS = ("system", "producer", "broker", "redis", "bench", "other", "unattributed")
"""Columns of :func:`table`: ``system`` is the system under test (``taskmanager`` +
``jobmanager``, ``job`` or ``peer``)."""
_SYSTEM = ("taskmanager", "jobmanager", "job", "peer")


def table(systems: dict[str, dict[str, Any]]) -> str:
    """Markdown: per system and rate step, CPU microseconds per event (at the producer's achieved
    rate) by group, and the machine's busy cores. Steps without ``cpu_cores`` are left out; an
    empty string when none has them.

    Args:
        systems: name -> result with ``steps`` (:meth:`bench.search.Step.to_dict` dicts).
    """
    rows = [
        "| system | rate (events/s) | keeps up | "
        + " | ".join(f"{g} (us/event)" for g in TABLE_GROUPS)
        + " | machine (cores) |",
        "| --- | ---: | --- |" + " ---: |" * (len(TABLE_GROUPS) + 1),
    ]
    for name, res in systems.items():
        for st in res.get("steps") or []:
            cores = dict(st.get("cpu_cores") or {})
            if not cores:
                continue
            cores["system"] = sum(cores.get(g, 0.0) for g in _SYSTEM)
            us = us_per_event(cores, float(st.get("achieved_rate") or 0.0))
            cells = " | ".join(f"{us[g]:,.1f}" if g in us else "0" for g in TABLE_GROUPS)
            rows.append(
                f"| {name} | {st['rate']:,.0f} | {'yes' if st.get('keeps_up') else 'no'} | "
                f"{cells} | {cores.get('machine', 0.0):.2f} |"
            )
    return "\n".join(rows) if len(rows) > 2 else ""
