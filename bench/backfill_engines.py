"""Which embedded engine for the backfill: numpy over Arrow (chosen) vs DuckDB vs Polars.

The same six window features (``count_click``, ``max_dwell_hover``, ``distinct_items`` over 1 h
and 24 h; tile-aligned bounds of design section 4) for the same labels, by:

- ``numpy``: the backfill engine (:mod:`userpulse.backfill.engine`), tiles + prefix sums +
  range merges, KMV sketch for ``distinct_items`` as the lookup answers;
- ``duckdb``: one SQL range join (user equal, event time inside the 24 h window) grouped by label,
  conditional aggregates for 1 h; exact COUNT(DISTINCT) (cheaper than a sketch);
- ``polars``: the same as ``join_where`` (equality + inequality predicates) and a group-by.

Only for the engine choice (docs/backfill.md); needs ``pip install duckdb polars`` (not project
dependencies). Times are wall seconds of one run each, inputs already in memory; each engine runs
in a child process capped at ``--memory-gb`` of address space (DuckDB also gets it as its
``memory_limit``), so a join that explodes fails alone instead of exhausting a shared machine:

    .venv/bin/python -m bench.backfill_engines [--events N] [--labels N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa

from bench import DATA_DIR
from bench.backfill import labels_for, synthetic_events

MEMORY_GB = 6
NAMES = [
    f"{a}_{w}" for w in ("1h", "24h") for a in ("count_click", "max_dwell_hover", "distinct_items")
]


def _bounds(t: np.ndarray, window_ms: int, tile_ms: int) -> tuple[np.ndarray, np.ndarray]:
    last = t // tile_ms
    return (last - window_ms // tile_ms + 1) * tile_ms, (last + 1) * tile_ms


def _with_bounds(labels: pa.Table) -> pa.Table:
    t = labels.column("as_of_ms").to_numpy()
    s1, e1 = _bounds(t, 3_600_000, 60_000)
    s24, e24 = _bounds(t, 86_400_000, 1_440_000)
    return pa.table(
        {
            "rid": np.arange(len(t)),
            "user_id": labels.column("user_id"),
            "s1": s1,
            "e1": e1,
            "s24": s24,
            "e24": e24,
        }
    )


def run_numpy(events: pa.Table, labels: pa.Table) -> float:
    """Seconds of the backfill engine on the six features (validation and sort included)."""
    from userpulse.backfill import backfill

    t0 = time.perf_counter()
    backfill(events, labels, NAMES)
    return time.perf_counter() - t0


def run_duckdb(events: pa.Table, labels: pa.Table) -> float:
    """Seconds of the DuckDB range join."""
    import duckdb

    lab = _with_bounds(labels)
    ev = events.select(["user_id", "event_type", "event_time_ms", "dwell_ms", "item_id"])
    con = duckdb.connect(config={"memory_limit": f"{MEMORY_GB}GB"})
    con.register("ev", ev)
    con.register("lab", lab)
    in1 = "e.event_time_ms >= l.s1 AND e.event_time_ms < l.e1"
    sql = f"""
        SELECT l.rid,
          count(*) FILTER (WHERE e.event_type = 'CLICK' AND {in1}) AS count_click_1h,
          max(e.dwell_ms) FILTER (WHERE e.event_type = 'HOVER' AND {in1}) AS max_dwell_hover_1h,
          count(DISTINCT e.item_id) FILTER (WHERE {in1}) AS distinct_items_1h,
          count(*) FILTER (WHERE e.event_type = 'CLICK') AS count_click_24h,
          max(e.dwell_ms) FILTER (WHERE e.event_type = 'HOVER') AS max_dwell_hover_24h,
          count(DISTINCT e.item_id) AS distinct_items_24h
        FROM lab l LEFT JOIN ev e
          ON e.user_id = l.user_id AND e.event_time_ms >= l.s24 AND e.event_time_ms < l.e24
        GROUP BY l.rid ORDER BY l.rid
    """
    t0 = time.perf_counter()
    con.sql(sql).to_arrow_table()
    return time.perf_counter() - t0


def run_polars(events: pa.Table, labels: pa.Table) -> float:
    """Seconds of the Polars inequality join."""
    import polars as pl

    lab = pl.from_arrow(_with_bounds(labels))
    ev = pl.from_arrow(
        events.select(["user_id", "event_type", "event_time_ms", "dwell_ms", "item_id"])
    )
    assert isinstance(lab, pl.DataFrame) and isinstance(ev, pl.DataFrame)
    ev = ev.rename({"user_id": "ev_user"})
    t0 = time.perf_counter()
    j = lab.join_where(
        ev,
        pl.col("user_id") == pl.col("ev_user"),
        pl.col("event_time_ms") >= pl.col("s24"),
        pl.col("event_time_ms") < pl.col("e24"),
    )
    in1 = (pl.col("event_time_ms") >= pl.col("s1")) & (pl.col("event_time_ms") < pl.col("e1"))
    click, hover = pl.col("event_type") == "CLICK", pl.col("event_type") == "HOVER"
    j.group_by("rid").agg(
        (click & in1).sum().alias("count_click_1h"),
        pl.col("dwell_ms").filter(hover & in1).max().alias("max_dwell_hover_1h"),
        pl.col("item_id").filter(in1).drop_nulls().n_unique().alias("distinct_items_1h"),
        click.sum().alias("count_click_24h"),
        pl.col("dwell_ms").filter(hover).max().alias("max_dwell_hover_24h"),
        pl.col("item_id").drop_nulls().n_unique().alias("distinct_items_24h"),
    )
    return time.perf_counter() - t0


def _cases(n_events: int, n_labels: int) -> dict[str, tuple[pa.Table, pa.Table]]:
    from userpulse.backfill.columns import events_table
    from userpulse.producers.replay import load_dataset

    globo = events_table(load_dataset("globo", DATA_DIR))
    synth = synthetic_events(n_events, max(1_000, n_events // 50))
    return {
        f"globo {globo.num_rows:,} events, 100,000 labels": (globo, labels_for(globo, 100_000)),
        f"synthetic {n_events:,} events, {n_labels:,} labels": (synth, labels_for(synth, n_labels)),
    }


ENGINES = {"numpy": run_numpy, "duckdb": run_duckdb, "polars": run_polars}


def _child(case: int, engine: str, n_events: int, n_labels: int, memory_gb: int) -> None:
    import resource

    limit = memory_gb * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    ev, lab = list(_cases(n_events, n_labels).values())[case]
    print(f"{ENGINES[engine](ev, lab):.2f}")


def main(argv: list[str] | None = None) -> int:
    """Print seconds per engine for Globo and a synthetic history."""
    import subprocess
    import sys

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--labels", type=int, default=100_000)
    ap.add_argument("--memory-gb", type=int, default=MEMORY_GB)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        _child(int(a.child[0]), a.child[1], a.events, a.labels, a.memory_gb)
        return 0
    names = [
        "globo 118,339 events, 100,000 labels",
        f"synthetic {a.events:,} events, {a.labels:,} labels",
    ]
    print("| case | numpy (chosen) s | duckdb s | polars s |\n| --- | ---: | ---: | ---: |")
    for i, name in enumerate(names):
        row = []
        for engine in ENGINES:
            cmd = [sys.executable, "-m", "bench.backfill_engines", "--child", str(i), engine]
            cmd += ["--events", str(a.events), "--labels", str(a.labels)]
            cmd += ["--memory-gb", str(a.memory_gb)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            lines = done.stdout.strip().splitlines()
            ok = done.returncode == 0 and lines
            row.append(lines[-1] if ok else f"failed ({a.memory_gb} GB cap)")
        print(f"| {name} | " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
