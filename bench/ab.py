"""Interleaved A/B runs of the feature job on the session cluster (tuning, not part of make bench).

Each run: the synthetic users' keys deleted (``bench.steps.delete_synthetic_users``: no run
continues the profiles an earlier one wrote), a fresh 3-partition topic filled with
``--backlog`` synthetic events, the job submitted at p = 1 (``ClusterJob``), the backlog's drain
rate (events/s counted between 20% and 90% of it) and the TaskManagers' CPU per event over it
(``/proc/<pid>/stat``: robust to a busy machine), then ``--rate`` events/s of load for
``--duration`` s with freshness probes (bench/freshness.py; the drain is the warm-up), which
kinds of pause the slow probes overlapped (bench/tail.py: young-GC pauses, checkpoints, AOF
rewrites, Redis stalls), Redis's own stalls (``LATENCY LATEST`` over 5 ms, the AOF's
``aof_delayed_fsync`` and rewrites), the TaskManagers' GC (``jstat -gc`` before and after: young
/ full collections and their seconds) and the job's checkpoints (REST API). Configs
(``--configs``, comma-separated, in order; the list is run ``--rounds`` times, every other round
reversed); a config is ``+``-joined tokens:

- ``base``: the checkout's job, Redis with its append-only file (``appendfsync everysec``,
  rewritten from 1 GiB on: the stack's defaults), store check every 1 s (the default);
- ``aof-off``: with ``CONFIG SET appendonly no`` on the bench Redis during the run;
- ``aof64m``: ``auto-aof-rewrite-min-size`` 64 MiB (Redis's default) during the run instead of
  the stack's 1 GiB: the job's writes grow the AOF by MBs per second, so at 64 MiB it is
  rewritten every few seconds;
- ``fsync-no``: ``appendfsync no`` during the run (the OS writes the AOF back when it will,
  typically within 30 s; Redis never calls fsync on it);
- ``norw-fsync``: ``no-appendfsync-on-rewrite yes`` during the run (no fsync while a rewrite
  child writes: up to the rewrite's length of writes lost in a crash);
- ``check-10s``: ``store_check_interval_ms`` 10000;
- ``buf5`` / ``buf1`` / ``buf0``: ``buffer_timeout_ms`` 5 / 1 / 0 (default 1); ``flush2``:
  ``flush_interval_ms`` 2 (default 5); ``cp30`` / ``cp60``: ``checkpoint_interval_ms`` 30000 /
  60000 (default 10000);
  ``pm1000``: ``premerge_refresh_ms`` 1000 (pre-merged windows; default 0: none);
- ``b``: on a second session cluster (``--cluster-b HOME:REST_PORT``, one TaskManager),
  started with other TaskManager JVM options (``USERPULSE_FLINK_TASKMANAGER_JAVA_OPTS``);
- ``old``: the job of another checkout (``--old``: its ``jobs/`` and its ``infra/lib`` jar), e.g.
  the commit before a change.

Needs the stack and the session cluster (``userpulse up``, ``userpulse cluster up``). Prints one
JSON line per run and writes them all to ``--out``::

    .venv/bin/python -m bench.ab --configs base,aof-off,check-10s --rounds 2 --out ab.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.freshness import run_freshness
from bench.search import finish_producer, start_producer
from bench.steps import delete_synthetic_users
from bench.systems import ClusterJob, TopicSize, free_port_span, taskmanager_pids
from bench.tail import Timeline, attribute, checkpoint_history
from userpulse import redis_conn, stack
from userpulse.settings import Settings

# config tokens that change one setting of the job
KNOBS: dict[str, tuple[str, Any]] = {
    "check-10s": ("store_check_interval_ms", 10_000),
    "buf5": ("buffer_timeout_ms", 5),
    "buf1": ("buffer_timeout_ms", 1),
    "buf0": ("buffer_timeout_ms", 0),
    "flush2": ("flush_interval_ms", 2),
    "cp30": ("checkpoint_interval_ms", 30_000),
    "cp60": ("checkpoint_interval_ms", 60_000),
    "pm1000": ("premerge_refresh_ms", 1000),
}


def gc_totals(pids: list[int]) -> dict[str, float]:
    """Young / full / concurrent GC counts and seconds summed over ``pids`` (``jstat -gc``; a
    collector without a kind, e.g. ZGC's young and full, prints ``-``: counted as 0)."""
    out = {"ygc": 0.0, "ygct": 0.0, "fgc": 0.0, "fgct": 0.0, "cgc": 0.0, "cgct": 0.0}
    for pid in pids:
        res = subprocess.run(
            ["jstat", "-gc", str(pid)], capture_output=True, text=True, check=False
        )
        lines = res.stdout.split("\n")
        if len(lines) < 2 or not lines[1].strip():
            continue
        row = dict(zip(lines[0].split(), lines[1].split(), strict=False))
        for k in out:
            v = row.get(k.upper(), "-")
            out[k] += 0.0 if v == "-" else float(v)
    return out


def checkpoints(cp: dict[str, Any]) -> dict[str, Any]:
    """Count, end-to-end durations (ms) and sizes (bytes) of the completed checkpoints in ``cp``
    (:func:`checkpoint_history`)."""
    hist = [h for h in cp.get("history", []) if h.get("status") == "COMPLETED"]
    return {
        "completed": cp.get("counts", {}).get("completed"),
        "e2e_ms": [h.get("end_to_end_duration") for h in hist],
        "size_bytes": [h.get("state_size") for h in hist][:3],
    }


def fill(topic: str, events: int, users: int) -> float:
    """Produce ``events`` synthetic events into ``topic`` as fast as one producer goes; seconds."""
    t0 = time.monotonic()
    proc, summary = start_producer(topic, 40_000, events / 40_000, users, seed=7)
    finish_producer(proc, summary)
    return time.monotonic() - t0


def cpu_s(pids: list[int]) -> float:
    """CPU seconds (utime + stime, every thread) the processes ``pids`` used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def drain_rate(
    job: ClusterJob, total: int, pids: list[int], timeout_s: float
) -> tuple[float, float]:
    """Events/s the job counted between 20% and 90% of ``total`` (the backlog), and the
    TaskManagers' CPU us per event over the same stretch (-1, -1: not reached in time)."""
    lo, hi = 0.2 * total, 0.9 * total
    t_lo: float | None = None
    c_lo = cpu_lo = 0.0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        c = job.counted() or 0.0
        now = time.monotonic()
        if t_lo is None and c >= lo:
            t_lo, c_lo, cpu_lo = now, c, cpu_s(pids)
        if t_lo is not None and c >= hi and c > c_lo and now > t_lo:
            return (c - c_lo) / (now - t_lo), 1e6 * (cpu_s(pids) - cpu_lo) / (c - c_lo)
        time.sleep(0.1)
    return -1.0, -1.0


def run_one(name: str, a: argparse.Namespace, base: Settings) -> dict[str, Any]:
    """One run of config ``name`` (see the module docstring)."""
    from userpulse.jobs import control

    tokens = set(name.split("+"))
    old = "old" in tokens
    settings = base.model_copy(update={k: v for t, (k, v) in KNOBS.items() if t in tokens})
    cluster = base
    if "b" in tokens:  # the second session cluster (other TaskManager JVM options)
        home, port = a.cluster_b.rsplit(":", 1)
        cluster = base.model_copy(
            update={"home": Path(home), "flink_rest_port": int(port), "flink_taskmanagers": 1,
                    "redis_credentials_dir": base.credentials_dir}
        )  # fmt: skip
        moved = ("home", "flink_rest_port", "flink_taskmanagers", "redis_credentials_dir")
        settings = settings.model_copy(update={k: getattr(cluster, k) for k in moved})
    if old:
        settings = settings.model_copy(update={"infra_lib": Path(a.old) / "infra" / "lib"})
    admin = redis_conn.connect(base, "admin")
    aof = "no" if "aof-off" in tokens else "yes"
    admin.config_set("appendonly", aof)
    redis_conf = {
        "auto-aof-rewrite-min-size": str(64 * 2**20 if "aof64m" in tokens else 2**30),
        "no-appendfsync-on-rewrite": "yes" if "norw-fsync" in tokens else "no",
        "appendfsync": "no" if "fsync-no" in tokens else "everysec",
    }
    for key, value in redis_conf.items():
        admin.config_set(key, value)
    rewrites0 = int(admin.info("persistence").get("aof_rewrites", 0))
    delete_synthetic_users(base)  # no run continues the profiles an earlier one wrote
    topic = f"bench.ab.{name.replace('+', '_')}.{int(time.time())}"  # Kafka: no "+"
    stack.recreate_topic(settings, topic, 3)
    fill_s = fill(topic, a.backlog, a.users)
    size = TopicSize(settings.kafka_bootstrap, topic)
    backlog = size()
    size.close()
    job = ClusterJob(  # a userpulse-* name: the probe reads the job's own Redis layout
        f"userpulse-{name.replace('+', '_')}",
        settings,
        topic,
        1,
        free_port_span(2),
        cluster.flink_taskmanagers,
        base.home / "bench" / "logs" / "ab.log",
    )
    control_path = control.worker_python_path
    entry = control.ENTRY
    if old:
        control.worker_python_path = lambda: os.pathsep.join(
            [a.old, *control_path().split(os.pathsep)[1:]]
        )  # type: ignore[assignment]
        control.ENTRY = Path(a.old) / "jobs" / "entry.py"
    load0 = os.getloadavg()[0]
    try:
        job.start()
    finally:
        control.worker_python_path = control_path  # type: ignore[assignment]
        control.ENTRY = entry
    try:
        pids = taskmanager_pids(cluster)
        rate, cpu_us = drain_rate(job, backlog, pids, 300)
        time.sleep(1)
        gc0 = gc_totals(pids)
        timeline = Timeline(pids, admin, base.home / "bench" / "logs" / "tail")
        timeline.start()
        persistence0 = admin.info("persistence")
        delayed0 = int(persistence0.get("aof_delayed_fsync", 0))
        aof0 = int(persistence0.get("aof_current_size", 0))
        t0 = time.monotonic()
        fr = run_freshness(
            job,
            settings.kafka_bootstrap,
            topic,
            redis_conn.connect(base, "lookup"),
            a.rate,
            a.duration,
            a.probe_rate,
            a.users,
        )
        gc1 = gc_totals(pids)
        secs = time.monotonic() - t0
        history = checkpoint_history(settings, job.job_id)
        cps = checkpoints(history)
        tail = attribute(fr.created_ms(), timeline.stop(history.get("history", [])))
        persistence = admin.info("persistence")
        delayed = int(persistence.get("aof_delayed_fsync", 0)) - delayed0
        # the AOF's growth per event of load (only without a rewrite, which resets the size)
        grown = int(persistence.get("aof_current_size", 0)) - aof0
        events = fr.producer.get("delivered") or a.rate * a.duration
        rewrites = int(persistence.get("aof_rewrites", 0)) - rewrites0
        stalls = [
            [str(x) if isinstance(x, bytes) else x for x in e]
            for e in admin.execute_command("LATENCY", "LATEST")
        ]
        st = fr.stats()
        young = max(1.0, gc1["ygc"] - gc0["ygc"])
        return {
            "config": name, "aof": aof, "redis_conf": redis_conf, "fill_s": round(fill_s, 1),
            "backlog": backlog,
            "drain_events_per_s": round(rate),
            "drain_cpu_us_per_event": round(cpu_us, 1), "fresh_rate": a.rate,
            "p50": st.get("p50"), "p99": st.get("p99"), "p999": st.get("p999"),
            "max": st.get("max"), "n": st.get("n"), "timeouts": st.get("timeouts"),
            "gc_young_per_s": round((gc1["ygc"] - gc0["ygc"]) / secs, 2),
            "gc_young_ms_avg": round(1000 * (gc1["ygct"] - gc0["ygct"]) / young, 1),
            "gc_full": gc1["fgc"] - gc0["fgc"],
            "gc_concurrent_per_s": round((gc1["cgc"] - gc0["cgc"]) / secs, 2),
            "checkpoints": cps,
            "aof_delayed_fsync": delayed, "aof_rewrites": rewrites,
            "aof_bytes_per_event": round(grown / events) if aof == "yes" and not rewrites else None,
            "redis_latency_latest": stalls,
            "load1_start": round(load0, 2), "load1_end": round(os.getloadavg()[0], 2),
            "tail": tail,
            "samples": fr.samples,
        }  # fmt: skip
    finally:
        job.stop()
        admin.config_set("appendonly", "yes")
        admin.config_set("auto-aof-rewrite-min-size", str(2**30))
        admin.config_set("no-appendfsync-on-rewrite", "no")
        admin.config_set("appendfsync", "everysec")
        stack.delete_topics(settings, [topic])


def main() -> None:
    """Parse the flags and run the configs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="base,aof-off,check-10s")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--backlog", type=int, default=150_000)
    ap.add_argument("--rate", type=float, default=5_000.0)
    ap.add_argument("--duration", type=float, default=25.0)
    ap.add_argument("--probe-rate", type=float, default=20.0)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--old", default="", help="another checkout, for the old* configs")
    ap.add_argument("--out", default="ab.jsonl")
    ap.add_argument(
        "--cluster-b", default="", help="HOME:REST_PORT of a second session cluster (token b)"
    )
    a = ap.parse_args()
    base = Settings()
    # the old checkout's job client must find this stack's home (Redis credentials)
    os.environ["USERPULSE_HOME"] = str(base.home)
    names = a.configs.split(",")
    with open(a.out, "a") as out:
        for r in range(a.rounds):
            for name in names if r % 2 == 0 else list(reversed(names)):
                res = run_one(name, a, base)
                res["round"] = r
                line = json.dumps(res)
                out.write(line + "\n")
                out.flush()
                short = {k: v for k, v in res.items() if k != "samples"}
                print(json.dumps(short), flush=True)


if __name__ == "__main__":
    main()
