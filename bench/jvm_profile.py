"""JVM CPU per event by stage: Java Flight Recorder on the TaskManagers at a fixed rate.

While the feature job runs on the local session cluster and synthetic load arrives at a fixed
``rate``, every TaskManager JVM records with JFR (``jcmd <pid> JFR.start settings=<jfc>`` with
only ``jdk.ExecutionSample``, every 2 ms per Java thread running Java code). A JVM's first
recording sets the JIT compiling for up to a minute, so ``make bench``'s warm-up starts and stops
one first (:func:`prime`); :func:`profile` still lets the load go on until the JIT is quiet
and only the ``duration_s`` seconds after that count: their samples (by time stamp), and over
the same window the TaskManagers' process CPU time (utime + stime of
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
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.jfr_samples import JFC, SAMPLE_PERIOD_MS, STAGES, parse_recording
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


def _jcmd(pid: int, *args: str) -> str:
    res = subprocess.run(
        ["jcmd", str(pid), *args], capture_output=True, text=True, timeout=60, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(f"jcmd {pid} {' '.join(args)}: {res.stdout}{res.stderr}")
    return res.stdout


PRIME_NAME = "userpulse-prime"


def prime(pids: list[int], out_dir: Path) -> None:
    """Start and at once stop a JFR recording (the profile's settings) on each JVM of ``pids``,
    so that the JIT burst of a JVM's first recording falls in the warm-up before the search,
    not in :func:`profile`'s window.

    Measured on the session cluster at 5,000 events/s (docs/bench.md, 2026-12-02 08:24-08:35):
    a JVM's first ``JFR.start`` kept its JIT compilers at 0.3-0.7 cores for 35-50 s, the
    second and third recordings on the same JVMs at 0.04-0.05 from their first 5 s; after a
    start-and-stop right after the job's start, the warm-up absorbed the burst and the
    profile's first window was quiet (0.046 cores).

    Raises:
        RuntimeError: ``jcmd`` failed on a JVM (gone, or not a HotSpot JVM of this user).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    jfc = (out_dir / "bench-samples.jfc").resolve()
    jfc.write_text(JFC)
    for pid in pids:
        _jcmd(pid, "JFR.start", f"name={PRIME_NAME}", f"settings={jfc}")
        _jcmd(pid, "JFR.stop", f"name={PRIME_NAME}")


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
    ap.add_argument(
        "--repeat", type=int, default=1, help="profiles one after another on the same JVMs"
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
        for _ in range(args.repeat):
            res = profile(
                job, taskmanager_pids(settings), topic, args.rate, args.duration, args.users,
                args.out, args.settle_max, lambda: size() - (job.counted() or 0.0) - job.base_lag,
            )  # fmt: skip
            (args.out / "jvm_profile.json").write_text(json.dumps(res, indent=1) + "\n")
            keys = ("events_per_s", "cpu_us_per_event", "settle_s", "settle_jit_cores", "share")
            print(json.dumps({k: res[k] for k in keys}))
            print(table(res), flush=True)
        size.close()
    finally:
        job.stop()
        stack.delete_topics(settings, [topic])
        if started_cluster:
            cluster.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
