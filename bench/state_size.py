"""State bytes per active user and the checkpoint size at N users (default 1,000,000).

For each shape, on a fresh topic: produce ``events`` events of ``users`` distinct users (event
time = now, so nothing is late or expires; a shape with ``events > users`` gives each user several
events round-robin), submit the feature job at parallelism 2 (the heap state is split over both
TaskManagers), wait until the job has counted every event, trigger a full checkpoint over the REST
API (``POST /jobs/:id/checkpoints``) and read its ``state_size`` / ``checkpointed_size`` from
``/jobs/:id/checkpoints`` (and the ``features`` operator's share from
``/jobs/:id/checkpoints/details/:cid``). The TaskManagers' live heap (``jcmd GC.run`` first) is
read before the job starts and after the checkpoint: the state's size in the heap.

The job runs on a private session cluster (own home under ``<home>/bench``, free ports, 2
TaskManagers of ``--taskmanager-memory``, default 4g), stopped afterwards: with the local
cluster's default 1536m TaskManagers (436 MB heap each) the heap state of ~1.6 KB per user fills
both heaps at about 420,000 users (measured 2026-11-30: old-generation GCs back to back). The job
writes to its own Redis logical database (:data:`REDIS_DB`), emptied afterwards.

    .venv/bin/python -m bench.state_size [--users 1000000] [--shape one --shape several]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import REPO_ROOT
from bench.systems import ClusterJob, free_port_span, taskmanager_pids
from userpulse import redis_conn, stack
from userpulse.events import Event, EventType
from userpulse.producers.kafka_out import EventSink
from userpulse.settings import Settings

REDIS_DB = 3
_TYPES = (EventType.CLICK, EventType.SCROLL, EventType.HOVER)


def produce(settings: Settings, topic: str, events: int, users: int) -> dict[str, Any]:
    """``events`` events of ``users`` distinct users (``sz-<i>``), round-robin, time = now."""
    t0 = time.monotonic()
    with EventSink(settings.kafka_bootstrap, topic) as sink:
        for i in range(events):
            u = i % users
            typ = _TYPES[i % 3]
            sink.send(
                Event(
                    f"sz-{i}", typ, f"sz-{u}", int(time.time() * 1000), f"s-{u}",
                    item_id=f"item-{i % 50_000}",
                    dwell_ms=1200 if typ is EventType.HOVER else None,
                    scroll_depth=0.5 if typ is EventType.SCROLL else None,
                )
            )  # fmt: skip
    s = time.monotonic() - t0
    return {"events": events, "seconds": round(s, 1), "events_per_s": round(events / s)}


def heap_used(settings: Settings) -> int | None:
    """Sum of the TaskManagers' used heap right after a full GC (``jcmd GC.run``, then
    ``jcmd GC.heap_info``), bytes; None if unknown. (Flink's REST metrics lag by up to 10 s.)"""
    total = 0
    for pid in taskmanager_pids(settings):
        subprocess.run(["jcmd", str(pid), "GC.run"], capture_output=True, timeout=120, check=False)
        info = subprocess.run(
            ["jcmd", str(pid), "GC.heap_info"], capture_output=True, text=True, timeout=60
        ).stdout
        m = re.search(r"used (\d+)K", info)
        if m is None:
            return None
        total += int(m.group(1)) * 1024
    return total


def measure(
    settings: Settings,
    users: int,
    events: int,
    parallelism: int = 2,
    timeout_s: float | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """One shape: the checkpoint's sizes and bytes per user (see the module docstring)."""
    from userpulse.jobs import control

    topic = f"bench.state.{users}.{events}.{int(time.time())}"
    stack.recreate_topic(settings, topic, 3)
    job_settings = settings.model_copy(update={"redis_db": REDIS_DB})
    port = free_port_span(settings.flink_taskmanagers)
    job = ClusterJob(
        f"userpulse-p{parallelism}", job_settings, topic, parallelism, port,
        settings.flink_taskmanagers, settings.home / "bench" / "logs" / "state-size.log",
    )  # fmt: skip
    try:
        produced = produce(settings, topic, events, users)
        log(f"state size: produced {events:,} events of {users:,} users ({produced})")
        heap0 = heap_used(settings)
        t0 = time.monotonic()
        job.start()
        job.wait_counted(events, timeout_s or max(300.0, events / 2_000))
        took = time.monotonic() - t0
        log(f"state size: the job counted {events:,} events in {took:.0f} s (incl. start)")
        assert job.job_id is not None
        cid = control.trigger_checkpoint(settings, job.job_id, timeout_s=300)
        rest = control.FlinkRest(settings.rest_url)
        hist = rest.get(f"/jobs/{job.job_id}/checkpoints")["history"]
        cp = next(h for h in hist if int(h["id"]) == cid)
        details = rest.get(f"/jobs/{job.job_id}/checkpoints/details/{cid}")
        names = {v["id"]: v["name"] for v in rest.job(job.job_id)["vertices"]}
        per_vertex = {
            names.get(vid, vid): {
                "state_size": t.get("state_size"),
                "checkpointed_size": t.get("checkpointed_size"),
            }
            for vid, t in (details.get("tasks") or {}).items()
        }
        features = next((v for n, v in per_vertex.items() if n.startswith("features")), {})
        heap1 = heap_used(settings)
        heap = None if heap0 is None or heap1 is None else heap1 - heap0
        size = int(cp["state_size"])
        return {
            "users": users,
            "events": events,
            "parallelism": parallelism,
            "checkpoint_id": cid,
            "state_size_bytes": size,
            "checkpointed_size_bytes": int(cp.get("checkpointed_size") or 0),
            "bytes_per_user": round(size / users, 1),
            "features_state_bytes": features.get("state_size"),
            "features_bytes_per_user": (
                round(features["state_size"] / users, 1) if features.get("state_size") else None
            ),
            "per_vertex": per_vertex,
            "checkpoint_duration_ms": cp.get("end_to_end_duration"),
            "heap_state_bytes": heap,
            "heap_bytes_per_user": None if heap is None else round(heap / users, 1),
            "taskmanager_memory": settings.flink_taskmanager_memory,
            "job_seconds_to_count_all": round(took, 1),
            "produce": produced,
            "taskmanagers": len(taskmanager_pids(settings)),
        }
    finally:
        job.stop()
        stack.delete_topics(settings, [topic])
        r = redis_conn.connect(job_settings, "admin")
        r.flushdb()


def private_cluster(settings: Settings, taskmanager_memory: str) -> Settings:
    """Settings of a private session cluster: own home under ``<home>/bench``, free REST / RPC
    ports, metrics ports of its own, 2 TaskManagers x 1 slot of ``taskmanager_memory``; the
    stack (Kafka, Redis and its credentials) of ``settings``."""
    rest, rpc = free_port_span(1), free_port_span(1)
    base = random.randrange(41_000, 49_000, 20)
    home = settings.home / "bench" / f"state-cluster-{rest}"
    return settings.model_copy(
        update={
            "home": home,
            "redis_credentials_dir": settings.credentials_dir,
            "checkpoint_dir": home / "checkpoints",
            "flink_rest_port": rest,
            "flink_rpc_port": rpc,
            "flink_metrics_ports": f"{base}-{base + 9}",
            "flink_taskmanagers": 2,
            "flink_slots_per_taskmanager": 1,
            "flink_taskmanager_memory": taskmanager_memory,
        }
    )


def run(
    settings: Settings,
    users: int,
    shapes: tuple[str, ...],
    log: Any = print,
    taskmanager_memory: str = "4g",
) -> dict[str, Any]:
    """``one``: ``users`` events of ``users`` users; ``several``: 10 events each of ``users / 10``
    users; on a private cluster (module docstring). Returns ``{shape: result or {"error": ...}}``.
    """
    from userpulse.stack.flink import FlinkCluster

    out: dict[str, Any] = {}
    private = private_cluster(settings, taskmanager_memory)
    cluster = FlinkCluster(private)
    try:
        cluster.up(timeout_s=180)
        for shape in shapes:
            n_users = users if shape == "one" else max(1, users // 10)
            try:
                out[shape] = measure(private, n_users, users, log=log)
            except Exception as exc:  # recorded; the bench goes on
                out[shape] = {"error": f"{type(exc).__name__}: {exc}"}
            log(f"state size ({shape}): {json.dumps(out[shape])[:400]}")
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            cluster.down()
        finally:
            shutil.rmtree(private.home, ignore_errors=True)
    return out


def table(res: dict[str, Any]) -> str:
    """Markdown rows per shape: users, events, checkpoint size, bytes per user."""
    rows = [
        "| shape | users | events | checkpoint state_size | bytes / user | features operator "
        "bytes / user |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for shape, r in res.items():
        if not isinstance(r, dict):
            rows.append(f"| {shape} | {r} | | | | |")
            continue
        if "error" in r:
            rows.append(f"| {shape} | error: {r['error'][:80]} | | | | |")
            continue
        rows.append(
            f"| {shape} | {r['users']:,} | {r['events']:,} | "
            f"{r['state_size_bytes'] / 1e6:,.1f} MB | {r['bytes_per_user']:,.0f} | "
            f"{r.get('features_bytes_per_user') or '-'} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (stack up: `userpulse up`)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--shape", action="append", choices=("one", "several"))
    ap.add_argument("--taskmanager-memory", default="4g")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "out" / "state_size.json")
    args = ap.parse_args(argv)
    res = run(
        Settings(), args.users, tuple(args.shape or ("one",)),
        taskmanager_memory=args.taskmanager_memory,
    )  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
