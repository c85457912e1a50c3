"""What the slow freshness probes overlapped: young-GC pauses, checkpoints, Redis's AOF rewrites.

A freshness probe is slow (over ``threshold_ms``, the design's 50 ms p99 target by default) for
reasons outside it: the TaskManager stopped for a collection, a checkpoint's snapshot took the
cores, Redis forked for an AOF rewrite or stalled a command. :class:`Timeline` records, while a
freshness run goes on, when each of those happened (UTC epoch ms):

- collector pauses: the TaskManagers' unified JVM log (``jcmd <pid> VM.log`` turns a file output
  on for ``gc`` at ``timemillis`` for the run and off after it: no restart); each ``Pause`` line
  is logged at the pause's end with its duration, so the pause is ``[end - ms, end]``;
- checkpoints: the job's REST history (``trigger_timestamp`` + ``end_to_end_duration``);
- AOF rewrites: ``INFO persistence``'s ``aof_rewrite_in_progress`` sampled every 50 ms;
- Redis not answering: a ``PING`` every 5 ms from a thread of the bench; a round trip over
  ``slow_ping_ms`` is a ``redis_slow`` interval ``[sent, answered]`` (ms resolution, but it also
  catches the bench's own process being descheduled);
- Redis stalls: ``LATENCY HISTORY`` of every event ``LATENCY LATEST`` names (over the latency
  monitor's threshold), at Redis's 1-second resolution: a stall of ``ms`` recorded at second
  ``ts`` ended within ``[ts, ts + 1)``, so it is taken as ``[ts * 1000 - ms, ts * 1000 + 1000]``.

:func:`attribute` then counts, for the probes over the threshold, which kinds of interval each
probe's life (creation to readable) overlapped; a probe can overlap several, and one that
overlapped none is "unexplained". Overlap is evidence, not proof: a probe that lived through a
checkpoint may have been slow for another reason.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from userpulse.settings import Settings

# `[1796171854553ms] GC(8) Pause Young (Normal) (G1 Evacuation Pause) 75M->26M(448M) 12.496ms`
PAUSE_RE = re.compile(r"^\[(\d+)ms\].*?\bPause\b(.*?)\s([\d.]+)ms\s*$")
KINDS = ("gc_pause", "checkpoint", "aof_rewrite", "redis_stall", "redis_slow")


@dataclass(frozen=True)
class Interval:
    """Something that may delay a probe: ``kind`` (one of :data:`KINDS`), ``[start_ms, end_ms]``
    in UTC epoch ms, and a short ``detail`` (the pause's cause, the checkpoint's id, ...)."""

    kind: str
    start_ms: float
    end_ms: float
    detail: str = ""


def parse_gc_log(text: str) -> list[Interval]:
    """The collector's pauses in a unified JVM log written with the ``timemillis`` decorator.

    Args:
        text: the log's lines (``-Xlog:gc`` / ``VM.log what=gc``, first decorator ``timemillis``).

    Returns:
        One ``gc_pause`` interval per ``Pause`` line (young, mixed, remark, cleanup, full).
    """
    out = []
    for line in text.splitlines():
        m = PAUSE_RE.match(line.strip())
        if m:
            end, what, ms = float(m.group(1)), m.group(2).strip(), float(m.group(3))
            out.append(Interval("gc_pause", end - ms, end, what.split()[0] if what else ""))
    return out


def checkpoint_intervals(history: list[dict[str, Any]]) -> list[Interval]:
    """Checkpoints from Flink's REST ``/jobs/<id>/checkpoints`` ``history`` entries.

    Entries without ``end_to_end_duration`` (still running) end at ``latest_ack_timestamp``.
    """
    out = []
    for h in history:
        start = h.get("trigger_timestamp")
        if not start:
            continue
        dur = h.get("end_to_end_duration") or 0
        end = start + dur if dur > 0 else h.get("latest_ack_timestamp") or start
        out.append(Interval("checkpoint", float(start), float(end), str(h.get("id", ""))))
    return out


def checkpoint_history(settings: Settings, job_id: str | None) -> dict[str, Any]:
    """The job's ``/jobs/<id>/checkpoints`` REST answer ({} when it cannot be read)."""
    if job_id is None:
        return {}
    try:
        answer: dict[str, Any] = httpx.get(
            f"{settings.rest_url}/jobs/{job_id}/checkpoints", timeout=5
        ).json()
        return answer
    except (httpx.HTTPError, ValueError):
        return {}


def attribute(
    probes: list[tuple[float, float]], intervals: list[Interval], threshold_ms: float = 50.0
) -> dict[str, Any]:
    """Which kinds of interval the slow probes overlapped.

    Args:
        probes: ``(created UTC epoch ms, freshness ms)`` per probe that became readable.
        intervals: what happened during the run (:class:`Interval`).
        threshold_ms: a probe slower than this is "slow".

    Returns:
        ``probes``, ``slow`` (count over the threshold), ``by_kind`` (slow probes overlapping
        each kind, a probe counted under every kind it overlapped), ``unexplained`` (slow
        probes overlapping none), ``all_by_kind`` (every probe overlapping each kind: the base
        rate to compare ``by_kind`` with), ``intervals`` (count per kind), and ``slow_probes``
        (the slow ones, slowest first, with the kinds they overlapped; at most 20).
    """

    def kinds_of(created: float, ms: float) -> list[str]:
        end = created + ms
        return sorted({i.kind for i in intervals if i.start_ms <= end and i.end_ms >= created})

    by_kind = dict.fromkeys(KINDS, 0)
    all_by_kind = dict.fromkeys(KINDS, 0)
    slow: list[dict[str, Any]] = []
    unexplained = 0
    for created, ms in probes:
        kinds = kinds_of(created, ms)
        for k in kinds:
            all_by_kind[k] += 1
        if ms > threshold_ms:
            for k in kinds:
                by_kind[k] += 1
            unexplained += not kinds
            slow.append({"created_ms": created, "ms": round(ms, 1), "kinds": kinds})
    slow.sort(key=lambda s: -s["ms"])
    counts = dict.fromkeys(KINDS, 0)
    for i in intervals:
        counts[i.kind] += 1
    return {
        "probes": len(probes), "threshold_ms": threshold_ms, "slow": len(slow),
        "by_kind": by_kind, "unexplained": unexplained, "all_by_kind": all_by_kind,
        "intervals": counts, "slow_probes": slow[:20],
    }  # fmt: skip


@dataclass
class Timeline:
    """Records a run's pauses, AOF rewrites and Redis stalls (see the module docstring).

    Args:
        pids: the TaskManager JVMs' process ids.
        admin: a Redis connection allowed ``INFO`` and ``LATENCY`` (the stack's admin user).
        log_dir: where the GC logs go (``gc-<pid>.log``, overwritten).
        slow_ping_ms: a ``PING`` round trip over this is a ``redis_slow`` interval.

    Attributes:
        intervals: what was recorded (filled by :meth:`stop`, the samplers meanwhile).
        unlogged: pids whose GC log could not be turned on (their pauses are unknown).
    """

    pids: list[int]
    admin: redis.Redis
    log_dir: Path
    slow_ping_ms: float = 10.0
    intervals: list[Interval] = field(default_factory=list)
    unlogged: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _log_path(self, pid: int) -> Path:
        return (self.log_dir / f"gc-{pid}.log").resolve()

    def _jcmd(self, pid: int, what: str) -> None:
        subprocess.run(
            ["jcmd", str(pid), "VM.log", f"output=file={self._log_path(pid)}", f"what={what}",
             "decorators=timemillis"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip

    def start(self) -> None:
        """Turn the GC logs on, reset Redis's latency history, start sampling the AOF rewrite.

        A pid whose log ``jcmd`` cannot turn on (not a JVM, gone) is left out and listed in
        ``unlogged``: its pauses are unknown, the rest of the timeline is kept.
        """
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for pid in self.pids:
            self._log_path(pid).unlink(missing_ok=True)
            try:
                self._jcmd(pid, "gc")
            except (subprocess.SubprocessError, OSError):
                self.unlogged.append(pid)
        self.admin.config_set("latency-monitor-threshold", 5)  # ms
        self.admin.execute_command("LATENCY", "RESET")
        self._threads = [
            threading.Thread(target=self._sample_aof, daemon=True),
            threading.Thread(target=self._ping, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _ping(self) -> None:
        while not self._stop.is_set():
            sent = time.time() * 1000
            with contextlib.suppress(redis.RedisError):  # an error: slow until it came
                self.admin.ping()
            answered = time.time() * 1000
            if answered - sent > self.slow_ping_ms:
                self.intervals.append(Interval("redis_slow", sent, answered))
            self._stop.wait(0.005)

    def _sample_aof(self) -> None:
        since: float | None = None
        while not self._stop.is_set():
            try:
                busy = int(self.admin.info("persistence").get("aof_rewrite_in_progress", 0))
            except redis.RedisError:
                busy = 1 if since is not None else 0  # unknown: keep the state it was in
            now = time.time() * 1000
            if busy and since is None:
                since = now
            elif not busy and since is not None:
                self.intervals.append(Interval("aof_rewrite", since - 50, now))
                since = None
            self._stop.wait(0.05)
        if since is not None:
            self.intervals.append(Interval("aof_rewrite", since - 50, time.time() * 1000))

    def stop(self, checkpoint_history: list[dict[str, Any]]) -> list[Interval]:
        """Turn the GC logs off and gather every interval of the run; returns them."""
        self._stop.set()
        for t in self._threads:
            t.join(5)
        for pid in self.pids:
            if pid in self.unlogged:
                continue
            try:
                self._jcmd(pid, "all=off")
                self.intervals += parse_gc_log(self._log_path(pid).read_text())
            except (subprocess.SubprocessError, OSError):
                pass  # a TaskManager that died during the run: its pauses are unknown
        self.intervals += checkpoint_intervals(checkpoint_history)
        for event in self.admin.execute_command("LATENCY", "LATEST"):
            name = event[0].decode() if isinstance(event[0], bytes) else str(event[0])
            for ts, ms in self.admin.execute_command("LATENCY", "HISTORY", name):
                self.intervals.append(
                    Interval("redis_stall", 1000.0 * ts - ms, 1000.0 * ts + 1000, f"{name} {ms} ms")
                )
        return self.intervals
