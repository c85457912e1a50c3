"""Speed of ``userpulse features backfill`` (issue 15): events/s, labels/s and peak memory.

Cases, each in its own subprocess so that its peak RSS (``ru_maxrss``) is its own:

- ``globo``: the Globo replay (118,339 events through the replay mapping) with 100,000 labels;
- ``synthetic``: a seeded synthetic history (default 10,000,000 events, 200,000 Zipf users over
  30 days) with 1,000,000 labels, read from Parquet.

Labels are drawn at random events' times plus a uniform offset of -1 h..+1 h (seeded), so most
windows hold events. Rates are over the whole run (read + validate/sort + features + write) and
over the feature computation alone. Runs without services:

    .venv/bin/python -m bench.backfill [--quick] [--out bench/out]

Knobs (``BENCH_*`` environment variables): ``BENCH_BACKFILL_EVENTS`` (10,000,000; quick
1,000,000), ``BENCH_BACKFILL_LABELS`` (1,000,000; quick 100,000), ``BENCH_BACKFILL_GLOBO_LABELS``
(100,000). ``make bench`` runs it through bench/run.py (report key ``backfill``).

``--cluster`` adds the same Globo case and a ``BENCH_BACKFILL_CLUSTER_EVENTS`` (1,000,000)
synthetic case with 10 % as many labels on a private Flink session cluster (JobManager + 2
TaskManagers on free ports, its own home, stopped afterwards) at parallelism 2.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench import DATA_DIR

T0_MS = 1_790_812_800_000
"""2026-10-01T00:00:00Z: start of the synthetic history."""
DAY_MS = 86_400_000


def synthetic_events(n: int, users: int, days: int = 30, seed: int = 15) -> pa.Table:
    """A seeded event table: Zipf(1.1) users, uniform times over ``days`` from :data:`T0_MS`,
    30 % clicks / 30 % scrolls / 40 % hovers, Zipf items (5 % without one)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, users + 1) ** 1.1
    user = rng.choice(users, size=n, p=weights / weights.sum())
    t = T0_MS + rng.integers(0, days * DAY_MS, size=n)
    typ = rng.choice(np.array(["CLICK", "SCROLL", "HOVER"]), size=n, p=[0.3, 0.3, 0.4])
    item_w = 1.0 / np.arange(1, 50_001) ** 1.05
    item = rng.choice(50_000, size=n, p=item_w / item_w.sum())
    hover, scroll = typ == "HOVER", typ == "SCROLL"

    def ids(prefix: str, x: np.ndarray) -> pa.Array:
        return pc.binary_join_element_wise(prefix, pc.cast(pa.array(x), pa.string()), "")

    return pa.table(
        {
            "event_id": ids("e", np.arange(n)),
            "event_type": pa.array(typ),
            "user_id": ids("u", user),
            "event_time_ms": pa.array(t),
            "session_id": pa.array(np.full(n, "s")),
            "item_id": pc.if_else(pa.array(rng.random(n) < 0.05), None, ids("i", item)),
            "dwell_ms": pa.array(rng.integers(0, 30_000, size=n), mask=~hover),
            "scroll_depth": pa.array(np.round(rng.random(n), 3), mask=~scroll),
        }
    )


def labels_for(events: pa.Table, n: int, seed: int = 16) -> pa.Table:
    """``n`` labels at random events' users and times plus -1 h..+1 h (seeded)."""
    rng = np.random.default_rng(seed)
    pick = pa.array(rng.integers(0, events.num_rows, size=n))
    t = events.column("event_time_ms").take(pick).to_numpy()
    return pa.table(
        {
            "user_id": events.column("user_id").take(pick),
            "as_of_ms": pa.array(t + rng.integers(-3_600_000, 3_600_000, size=n)),
            "label": pa.array(rng.random(n) < 0.1),
        }
    )


def run_case(events_spec: str, labels: Path, out: Path) -> dict[str, Any]:
    """One timed backfill in this process (the CLI's path without the progress bar)."""
    from userpulse.cli.backfill_cmd import run_local

    summary = run_local(events_spec, labels, out, None, None, quiet=True)
    summary["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    summary["compute_labels_per_s"] = round(summary["labels"] / summary["compute_s"])
    return summary


def _subprocess(events_spec: str, labels: Path, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.backfill", "--case", events_spec, str(labels), str(out)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool = False, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Both cases; returns ``{"globo": summary, "synthetic": summary}``."""
    e = dict(os.environ if env is None else env)
    n_events = int(e.get("BENCH_BACKFILL_EVENTS", 1_000_000 if quick else 10_000_000))
    n_labels = int(e.get("BENCH_BACKFILL_LABELS", 100_000 if quick else 1_000_000))
    globo_labels = int(e.get("BENCH_BACKFILL_GLOBO_LABELS", 100_000))
    from userpulse.backfill.columns import events_table
    from userpulse.producers.replay import load_dataset

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        d = Path(tmp)
        globo = events_table(load_dataset("globo", DATA_DIR))
        pq.write_table(labels_for(globo, globo_labels), d / "globo-labels.parquet")
        out["globo"] = _subprocess("globo", d / "globo-labels.parquet", d / "globo-out.parquet")
        t0 = time.perf_counter()
        synth = synthetic_events(n_events, max(1_000, n_events // 50))
        pq.write_table(synth, d / "events.parquet")
        pq.write_table(labels_for(synth, n_labels), d / "labels.parquet")
        del synth
        made_s = time.perf_counter() - t0
        out["synthetic"] = _subprocess(
            str(d / "events.parquet"), d / "labels.parquet", d / "out.parquet"
        )
        out["synthetic"]["generate_s"] = round(made_s, 1)
    return out


def run_cluster(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Globo and a synthetic history through ``--engine flink`` on a private session cluster."""
    import random
    import shutil
    import socket

    from bench import REPO_ROOT
    from userpulse.backfill.columns import events_table
    from userpulse.backfill.flink_run import run_on_cluster
    from userpulse.settings import Settings
    from userpulse.stack.flink import FlinkCluster

    e = dict(os.environ if env is None else env)
    n_events = int(e.get("BENCH_BACKFILL_CLUSTER_EVENTS", 1_000_000))
    ports = []
    for _ in range(2):
        with socket.socket() as sk:
            sk.bind(("127.0.0.1", 0))
            ports.append(int(sk.getsockname()[1]))
    base = random.randrange(40_000, 49_000, 20)
    home = REPO_ROOT / ".userpulse" / "bench" / f"backfill-cluster-{ports[0]}"
    s = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=home,
        flink_rest_port=ports[0],
        flink_rpc_port=ports[1],
        flink_metrics_ports=f"{base}-{base + 9}",
        flink_taskmanagers=2,
        flink_slots_per_taskmanager=1,
    )
    cluster = FlinkCluster(s)
    out: dict[str, Any] = {}
    from userpulse.producers.replay import load_dataset

    try:
        cluster.up(timeout_s=180)
        with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
            d = Path(tmp)
            globo = events_table(load_dataset("globo", DATA_DIR))
            pq.write_table(labels_for(globo, 100_000), d / "globo-labels.parquet")
            t0 = time.perf_counter()
            out["globo on flink p=2"] = run_on_cluster(
                "globo", d / "globo-labels.parquet", d / "g.parquet", None, None, 2, True, s
            )
            synth = synthetic_events(n_events, max(1_000, n_events // 50))
            pq.write_table(synth, d / "events.parquet")
            pq.write_table(labels_for(synth, n_events // 10), d / "labels.parquet")
            out["synthetic on flink p=2"] = run_on_cluster(
                str(d / "events.parquet"), d / "labels.parquet", d / "s.parquet", None, None, 2,
                True, s,
            )  # fmt: skip
            out["wall_s"] = round(time.perf_counter() - t0, 1)
    finally:
        cluster.down()
        shutil.rmtree(home, ignore_errors=True)
    return out


def table(res: dict[str, Any]) -> str:
    """The speed table (markdown)."""
    lines = [
        "| case | events | labels | total s | events/s | labels/s | features s | labels/s "
        "(features) | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in res.items():
        if not isinstance(r, dict) or "compute_s" not in r:
            continue
        lines.append(
            f"| {name} | {r['events']:,} | {r['labels']:,} | {r['total_s']} | "
            f"{r['events_per_s']:,} | {r['labels_per_s']:,} | {r['compute_s']} | "
            f"{r['compute_labels_per_s']:,} | {r['peak_rss_mb']:,} |"
        )
    return "\n".join(lines)


def cluster_table(res: dict[str, Any]) -> str:
    """The session-cluster table (markdown)."""
    lines = [
        "| case | events | labels | total s | stage s | job s | collect s | events/s | labels/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in res.items():
        if isinstance(r, dict):
            lines.append(
                f"| {name} | {r['events']:,} | {r['labels']:,} | {r['total_s']} | "
                f"{r['stage_s']} | {r['job_s']} | {r['collect_s']} | {r['events_per_s']:,} | "
                f"{r['labels_per_s']:,} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run both cases, print the table, write ``backfill.json`` into ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000,000 synthetic events")
    ap.add_argument("--out", type=Path, default=None, help="folder of backfill.json")
    ap.add_argument("--cluster", action="store_true", help="also on a Flink session cluster")
    ap.add_argument("--case", nargs=3, metavar=("EVENTS", "LABELS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case[0], Path(args.case[1]), Path(args.case[2]))))
        return 0
    res = run(args.quick)
    print(table(res))
    if args.cluster:
        res["cluster"] = run_cluster()
        print(cluster_table(res["cluster"]))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "backfill.json").write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
