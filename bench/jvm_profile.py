"""JVM CPU per event by stage: Java Flight Recorder on the TaskManagers at a fixed rate.

While the feature job runs on the local session cluster and synthetic load arrives at a fixed
``rate``, every TaskManager JVM records with JFR (``jcmd <pid> JFR.start settings=<jfc>`` with
only ``jdk.ExecutionSample``, every 2 ms per Java thread running Java code). Starting JFR sets
the JIT compiling, so the load goes on until the JIT is quiet again (:func:`profile`) and only
the ``duration_s`` seconds after that count: their samples (by time stamp), and over the same
window the TaskManagers' process CPU time (utime + stime of
``/proc/<pid>/stat``, all threads: JIT, GC and kernel time included) and the events the job
counted are taken. Each execution sample is attributed to one stage by its stack: ``sink`` when
any frame is the Redis writer's (what it calls, e.g. the profile's JSON at a flush, is sink
work), else the first frame from the leaf down that names a stage:

| stage | frames (class name prefixes) |
| --- | --- |
| decode | ``io.userpulse.flink.decode`` |
| sink | ``io.userpulse.flink.redis``, Jedis and its pool (relocated: ``io.userpulse.shaded``) |
| fold | ``io.userpulse.flink.tiles`` / ``profile`` / ``operator`` (and keyed state below it) |
| source | the Kafka consumer and connector, the source reader, the table runtime's conversion and
  watermark code (``org.apache.kafka``, ``org.apache.flink.connector``, ``org.apache.flink.table``,
  generated classes, ``io.userpulse.flink.AvroEventTime``), and the source's fetcher thread
  (the source's deserializer decodes: its frames count as decode) |
| other | the rest: the shuffle between decode and the keyed function (network stack, record
  (de)serialisation: ``other_detail.shuffle``), checkpoints (``other_detail.checkpoint``), Kafka
  producer threads of the side outputs, Flink's runtime, metrics, ... |

``us_per_event[stage] = (TaskManager CPU us - JIT - GC) / events counted x share of the samples
in stage``; ``us_per_event["jit"]`` and ``["gc"]`` are the CPU of HotSpot's compiler threads and
of the collector's and VM threads (``/proc/<pid>/task``), which execution samples never see:
spread over the stages they had inflated them (the JIT compiles for a minute or more after each
submission: 39 of 118 us per event 30-45 s after it, 2.3 of 79 a minute later, at 5,000/s).
The time the samples cannot see within the task threads (syscalls, native code) is still spread
in proportion. ``threads_us_per_event``: the CPU by thread group
(:data:`bench.jvm_threads.THREAD_GROUPS`), which needs no sampling. Standalone (stack and
session cluster up, or it starts the cluster and stops it)::

    .venv/bin/python -m bench.jvm_profile --parallelism 1 --rate 5000 --duration 30
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.jvm_threads import (
    DRAIN_MAX_S,
    SETTLE_MAX_S,
    cpu_ticks,
    settle,
    thread_ticks,
    ticks_by_group,
)
from bench.search import finish_producer, start_producer
from bench.systems import ClusterJob, System, TopicSize, free_port_span, taskmanager_pids

STAGES = ("source", "decode", "fold", "sink", "other")
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("decode", ("io.userpulse.flink.decode.",)),
    # Jedis and its pool as relocated into the job's jar (jvm/pom.xml); the jar's other
    # relocated libraries (BouncyCastle's BLAKE2b of the distinct-items sketch, Avro, Jackson)
    # count as the stage whose frames call them
    (
        "sink",
        (
            "io.userpulse.flink.redis.",
            "io.userpulse.shaded.redis.clients.",
            "io.userpulse.shaded.org.apache.commons.pool2.",
            "redis.clients.",
        ),
    ),
    (
        "fold",
        (
            "io.userpulse.flink.tiles.",
            "io.userpulse.flink.profile.",
            "io.userpulse.flink.operator.",
        ),
    ),
    (
        "shuffle",
        (
            "org.apache.flink.runtime.io.network.",
            "org.apache.flink.streaming.runtime.io.RecordWriterOutput",
            "org.apache.flink.streaming.runtime.io.recovery.",
            "org.apache.flink.api.java.typeutils.runtime.",
            "org.apache.flink.api.common.typeutils.base.",
            "org.apache.flink.runtime.plugable.",
            "com.esotericsoftware.kryo.",
        ),
    ),
    (
        "source",
        (
            "org.apache.kafka.",
            "org.apache.flink.kafka.shaded.",
            "org.apache.flink.connector.",
            "org.apache.flink.streaming.api.operators.source.",
            "org.apache.flink.table.",
            "io.userpulse.flink.AvroEventTime",
        ),
    ),
)
_CHECKPOINT = ("AsyncCheckpointRunnable", "SnapshotStrategyRunner", "AsyncSnapshotCallable")
_GENERATED = re.compile(r"^[A-Za-z]+\$\d+$")  # Janino classes of the table planner, no package
SAMPLE_PERIOD_MS = 2
JFC = f"""<?xml version="1.0" encoding="UTF-8"?>
<configuration version="2.0" label="userpulse-bench" description="method samples only">
  <event name="jdk.ExecutionSample">
    <setting name="enabled">true</setting>
    <setting name="period">{SAMPLE_PERIOD_MS} ms</setting>
  </event>
</configuration>
"""
"""JFR settings: only ``jdk.ExecutionSample``, every 2 ms (``profile`` samples every 10 ms)."""


def _frame_class(frame: dict[str, Any]) -> str:
    name = str(frame.get("method", {}).get("type", {}).get("name", ""))
    return name.replace("/", ".")  # `jfr print --json` writes internal names (a/b/C)


def _frame_name(frame: dict[str, Any]) -> str:
    m = frame.get("method", {})
    return f"{_frame_class(frame)}.{m.get('name', '?')}"


def classify(frames: list[dict[str, Any]], thread: str) -> tuple[str, str]:
    """``(stage, detail)`` of one sample: its frames leaf first, its thread's Java name."""
    classes = [_frame_class(f) for f in frames]
    if any(c.endswith(_CHECKPOINT) or any(x in c for x in _CHECKPOINT) for c in classes):
        return "other", "checkpoint"
    if thread.startswith("kafka-producer-network-thread"):
        return "other", "side-output producers"
    sink = dict(_RULES)["sink"]
    if any(c.startswith(sink) for c in classes):
        return "sink", "sink"  # incl. what the writer calls (the profile's JSON at a flush)
    for c in classes:
        for stage, prefixes in _RULES:
            if c.startswith(prefixes):
                return ("other", "shuffle") if stage == "shuffle" else (stage, stage)
        if _GENERATED.match(c):
            return "source", "source"
    if thread.startswith("Source Data Fetcher"):
        return "source", "source"
    return "other", "runtime"


def sample_epoch_s(event: dict[str, Any]) -> float | None:
    """UTC epoch seconds of one ``jfr print --json`` event (its ``startTime``, e.g.
    ``2026-12-02T04:10:39.549429028Z``: nanoseconds truncated to microseconds); None without
    one."""
    raw = str(event.get("values", {}).get("startTime") or "")
    if not raw:
        return None
    head, dot, frac = raw.rstrip("Z").partition(".")
    return (
        datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}" if dot else head)
        .replace(tzinfo=timezone.utc)
        .timestamp()
    )


def parse_recording(path: Path, since_epoch_s: float | None = None) -> dict[str, Any]:
    """Samples per stage (and ``other`` by detail, top leaf methods per stage) of one ``.jfr``;
    with ``since_epoch_s`` (UTC epoch s), only the samples taken from then on."""
    out = subprocess.run(
        ["jfr", "print", "--json", "--stack-depth", "64", "--events", "jdk.ExecutionSample",
         str(path)],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    events = json.loads(out)["recording"]["events"]
    stages: Counter[str] = Counter()
    detail: Counter[str] = Counter()
    leaves: dict[str, Counter[str]] = {s: Counter() for s in STAGES}
    for ev in events:
        if since_epoch_s is not None and (sample_epoch_s(ev) or 0.0) < since_epoch_s:
            continue
        v = ev.get("values", {})
        frames = (v.get("stackTrace") or {}).get("frames") or []
        thread = str((v.get("sampledThread") or {}).get("javaName") or "")
        stage, d = classify(frames, thread)
        stages[stage] += 1
        if stage == "other":
            detail[d] += 1
        if frames:
            leaves[stage][_frame_name(frames[0])] += 1
    return {"samples": dict(stages), "other_detail": dict(detail), "leaves": leaves}


def _jcmd(pid: int, *args: str) -> str:
    res = subprocess.run(
        ["jcmd", str(pid), *args], capture_output=True, text=True, timeout=60, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(f"jcmd {pid} {' '.join(args)}: {res.stdout}{res.stderr}")
    return res.stdout


def profile(
    system: System,
    pids: list[int],
    topic: str,
    rate: float,
    duration_s: float,
    users: int,
    out_dir: Path,
    settle_max_s: float = SETTLE_MAX_S,
    lag: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Record the TaskManagers ``pids`` under load at ``rate``; the result.

    The recording starts first; then, still under load, windows of
    :data:`bench.jvm_threads.SETTLE_WINDOW_S` s pass until the JIT compilers use less than
    :data:`bench.jvm_threads.SETTLE_JIT_CORES` cores (at most ``settle_max_s`` s): starting JFR
    sets them compiling its own code and the job falls behind (500 us of JIT per event counted,
    the job at 1,320 of 5,000 events/s, with the JIT quiet just before: docs/bench.md,
    2026-12-02). Only the ``duration_s`` s after that are measured: CPU, events, and the samples
    taken in them. ``settle_s`` and ``settle_jit_cores`` (one per window) are in the result.
    With ``lag`` (events in the topic the job has not counted yet), it then waits, still under
    load, until the backlog of the slow start is drained (at most
    :data:`bench.jvm_threads.DRAIN_MAX_S` s; ``lag_at_start`` in the result): draining, the job
    would run faster than ``rate`` and in bigger batches. The job (``system``) must be running
    on ``topic``. The recordings stay in ``out_dir`` (``tm-<pid>.jfr``: open them in JDK Mission
    Control for flame graphs).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    load_s = settle_max_s + (DRAIN_MAX_S if lag else 0.0) + duration_s + 8.0
    proc, summary = start_producer(topic, rate, load_s, users, seed=77)
    time.sleep(3.0)  # the producer's start-up: record under load only
    name = f"userpulse-bench-{os.getpid()}"
    files = {pid: (out_dir / f"tm-{pid}.jfr").resolve() for pid in pids}
    jfc = (out_dir / "bench-samples.jfc").resolve()
    jfc.write_text(JFC)
    for pid, f in files.items():
        f.unlink(missing_ok=True)
        _jcmd(pid, "JFR.start", f"name={name}", f"settings={jfc}", f"filename={f}")
    settle_t0 = time.monotonic()
    settle_cores = settle(pids, settle_max_s)
    settled_s = time.monotonic() - settle_t0
    drain_end = time.monotonic() + DRAIN_MAX_S
    while lag is not None and lag() > max(100.0, 0.2 * rate) and time.monotonic() < drain_end:
        time.sleep(0.5)
    lag_at_start = None if lag is None else round(lag())
    since = time.time()
    ticks0 = {pid: cpu_ticks(pid) for pid in pids}
    threads0 = thread_ticks(pids)
    c0 = system.counted() or 0.0
    t0 = time.monotonic()
    time.sleep(duration_s)
    ticks1 = {pid: cpu_ticks(pid) for pid in pids}
    groups = ticks_by_group(threads0, thread_ticks(pids))
    c1 = system.counted() or c0
    wall = time.monotonic() - t0
    for pid in pids:
        _jcmd(pid, "JFR.stop", f"name={name}")
    proc.terminate()  # the load ran long enough for the longest settling
    finish_producer(proc, summary)
    hz = os.sysconf("SC_CLK_TCK")
    cpu_s = sum(ticks1[p] - ticks0[p] for p in pids) / hz
    events = c1 - c0
    samples: Counter[str] = Counter()
    detail: Counter[str] = Counter()
    leaves: dict[str, Counter[str]] = {s: Counter() for s in STAGES}
    for f in files.values():
        parsed = parse_recording(f, since_epoch_s=since)
        samples.update(parsed["samples"])
        detail.update(parsed["other_detail"])
        for s in STAGES:
            leaves[s].update(parsed["leaves"][s])
    n = sum(samples.values())
    cpu_us_per_event = cpu_s * 1e6 / events if events > 0 else None
    share = {s: samples.get(s, 0) / n if n else 0.0 for s in STAGES}
    per_event = (lambda ticks: round(ticks / hz * 1e6 / events, 2)) if events > 0 else None
    # JIT compilers and the collector never show in JFR's execution samples: their CPU is
    # reported apart, the rest is spread over the stages by the samples' shares
    apart = {g: None if per_event is None else per_event(groups.get(g, 0)) for g in ("jit", "gc")}
    sampled_us = (
        None
        if cpu_us_per_event is None
        else max(0.0, cpu_us_per_event - sum(v or 0.0 for v in apart.values()))
    )
    return {
        "rate": rate,
        "duration_s": round(wall, 1),
        "events": int(events),
        "events_per_s": round(events / wall, 1),
        "settle_s": round(settled_s, 1),
        "settle_jit_cores": settle_cores,
        "lag_at_start": lag_at_start,
        "taskmanagers": len(pids),
        "cpu_s": round(cpu_s, 2),
        "cpu_cores": round(cpu_s / wall, 3),
        "cpu_us_per_event": None if cpu_us_per_event is None else round(cpu_us_per_event, 2),
        "samples": n,
        "share": {s: round(v, 4) for s, v in share.items()},
        "us_per_event": {
            **{s: None if sampled_us is None else round(sampled_us * share[s], 2) for s in STAGES},
            **apart,
        },
        "threads_us_per_event": {
            g: None if per_event is None else per_event(t) for g, t in groups.most_common()
        },
        "other_detail_samples": dict(detail),
        "top_leaf_methods": {s: dict(leaves[s].most_common(5)) for s in STAGES},
        "recordings": [str(f) for f in files.values()],
        "method": (
            f"jcmd JFR.start on each TaskManager, jdk.ExecutionSample every {SAMPLE_PERIOD_MS} ms, "
            "attributed leaf-first by class prefix (bench/jvm_profile.py); TaskManager CPU from "
            "/proc/<pid>/stat over the same window / events counted; the JIT compilers' and the "
            "collector's threads (/proc/<pid>/task) apart, the rest spread by the samples' shares"
        ),
    }


def table(res: dict[str, Any]) -> str:
    """Markdown tables: us per event and share of samples per stage (JIT and GC apart), then us
    per event per thread group (:data:`bench.jvm_threads.THREAD_GROUPS`)."""
    rows = ["| stage | JVM CPU us / event | share of samples |", "| --- | ---: | ---: |"]
    for s, us in res["us_per_event"].items():
        share = f"{res['share'][s]:.1%}" if s in res["share"] else "(no samples)"
        rows.append(f"| {s} | {'-' if us is None else f'{us:.1f}'} | {share} |")
    rows.append(f"| total | {res.get('cpu_us_per_event')} | {res['samples']} samples |")
    threads = res.get("threads_us_per_event") or {}
    if threads:
        rows += ["", "| TaskManager threads | CPU us / event |", "| --- | ---: |"]
        rows += [f"| {g} | {'-' if us is None else f'{us:.1f}'} |" for g, us in threads.items()]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Standalone: submit the job on a fresh topic, warm it up, profile, cancel, clean up."""
    from bench import REPO_ROOT
    from userpulse import stack
    from userpulse.settings import Settings
    from userpulse.stack.flink import FlinkCluster

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--parallelism", "-p", type=int, default=1)
    ap.add_argument("--rate", type=float, default=5000.0, help="load, events/s")
    ap.add_argument("--duration", type=float, default=30.0, help="recorded seconds")
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument(
        "--settle-max",
        type=float,
        default=SETTLE_MAX_S,
        help="most seconds of load after JFR starts before the measured window (0: none)",
    )
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "out")
    args = ap.parse_args(argv)
    settings = Settings()
    cluster = FlinkCluster(settings)
    started_cluster = not cluster.status().reachable
    if started_cluster:
        cluster.up()
    topic = f"bench.jfr.{int(time.time())}"
    stack.recreate_topic(settings, topic, 3)
    port = free_port_span(settings.flink_taskmanagers)
    job = ClusterJob(
        f"userpulse-p{args.parallelism}", settings, topic, args.parallelism, port,
        settings.flink_taskmanagers, settings.home / "bench" / "logs" / "jvm-profile.log",
    )  # fmt: skip
    try:
        job.start()
        proc, summary = start_producer(topic, args.rate, 15.0, args.users, seed=1)  # warm-up
        finish_producer(proc, summary)
        size = TopicSize(settings.kafka_bootstrap, topic)
        res = profile(
            job, taskmanager_pids(settings), topic, args.rate, args.duration, args.users,
            args.out, args.settle_max, lambda: size() - (job.counted() or 0.0) - job.base_lag,
        )  # fmt: skip
        size.close()
        (args.out / "jvm_profile.json").write_text(json.dumps(res, indent=1) + "\n")
        keys = ("events_per_s", "cpu_us_per_event", "settle_s", "settle_jit_cores", "share")
        print(json.dumps({k: res[k] for k in keys}))
        print(table(res))
    finally:
        job.stop()
        stack.delete_topics(settings, [topic])
        if started_cluster:
            cluster.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
