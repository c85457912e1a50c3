"""Driver of the backfill on a Flink session cluster (``--engine flink``).

Steps: read the events and labels like the embedded run (:mod:`userpulse.backfill.sources`) and
stage them as JSON lines under ``<home>/backfill/<run>/`` (a ``.jsonl`` event file or folder is
used in place, so a history on storage every TaskManager reads is never copied); submit
:mod:`userpulse.backfill.flink_job` with ``flink run -py`` (blocking until the batch job ends) to
the cluster of ``settings.rest_url`` (default: the local one of ``userpulse cluster up``); read the
output lines back and append their columns to the labels in their original order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from userpulse.backfill import feature_names, label_keys
from userpulse.backfill.columns import EVENT_SCHEMA
from userpulse.backfill.engine import STATUS_SUFFIX, output_schema
from userpulse.backfill.errors import BackfillError
from userpulse.backfill.flink_job import ROW
from userpulse.backfill.sources import read_events, read_labels, write_output
from userpulse.settings import Settings

JOB_FILE = Path(__file__).resolve().with_name("flink_job.py")
"""The backfill's PyFlink script, shipped in this package."""
BUCKETS_PER_SLOT = 16
"""Default buckets per unit of parallelism (each bucket is one independent backfill)."""


def _write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, separators=(",", ":")) + "\n")


def stage(events: pa.Table, labels: pa.Table, folder: Path) -> tuple[Path, Path]:
    """Events (columns of :data:`EVENT_SCHEMA` present in ``events``) and labels (``_row``,
    ``user_id`` as a string, ``as_of_ms``) as JSON-lines files under ``folder``."""
    cols = [f.name for f in EVENT_SCHEMA if f.name in events.column_names]
    _write_jsonl(events.select(cols).to_pylist(), folder / "events" / "events.jsonl")
    users, times = label_keys(labels)
    rows = [
        {ROW: i, "user_id": u, "as_of_ms": int(t)}
        for i, (u, t) in enumerate(zip(users.to_pylist(), times.tolist(), strict=True))
    ]
    _write_jsonl(rows, folder / "labels" / "labels.jsonl")
    return folder / "events", folder / "labels"


def submit_and_wait(
    settings: Settings, args: list[str], parallelism: int, timeout_s: float = 3_600.0
) -> str:
    """``flink run -py flink_job.py ARGS`` against ``settings.rest_url``; returns its output.

    Raises:
        BackfillError: the client failed (the job failed, or no cluster answers).
    """
    from userpulse.stack.flink import worker_python_path
    from userpulse.stack.flink_conf import flink_home

    host_port = settings.rest_url.split("://", 1)[-1]
    cmd = ["bash", str(flink_home() / "bin" / "flink"), "run", "-m", host_port]
    cmd += ["-p", str(parallelism), "-pyexec", sys.executable, "-pyclientexec", sys.executable]
    cmd += ["-py", str(JOB_FILE), *args]
    env = dict(os.environ, PYTHONPATH=worker_python_path())
    conf = settings.home / "flink" / "conf"
    if settings.flink_rest_url is None and conf.is_dir():
        env["FLINK_CONF_DIR"] = str(conf)
    env.pop("FLINK_HOME", None)
    res = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    text = res.stdout + res.stderr
    if res.returncode != 0:
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("\tat ")]
        raise BackfillError(
            f"flink run failed ({res.returncode}) on {settings.rest_url} (is the cluster up? "
            "`userpulse cluster up`):\n" + "\n".join(lines[-25:])
        )
    return text


def collect(out_dir: Path, labels: pa.Table, names: list[str]) -> pa.Table:
    """The labels with the feature columns of the job's output lines, in label order.

    Raises:
        BackfillError: a label has no output line (or more than one).
    """
    rows: list[dict[str, Any]] = []
    for part in sorted(p for p in out_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
        with part.open(encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    if sorted(r[ROW] for r in rows) != list(range(labels.num_rows)):
        raise BackfillError(f"the job answered {len(rows)} lines for {labels.num_rows} labels")
    rows.sort(key=lambda r: r[ROW])
    schema = output_schema(names)
    plain = pa.schema(
        [pa.field(f.name, pa.string()) if f.name.endswith(STATUS_SUFFIX) else f for f in schema]
    )
    got = pa.Table.from_pylist(rows, schema=plain)
    table = labels
    for f in schema:
        col = got.column(f.name)
        table = table.append_column(f.name, pc.cast(col, f.type) if col.type != f.type else col)
    return table


def run_on_cluster(
    events: str,
    labels: Path,
    out: Path,
    features: list[str] | None,
    data_dir: Path | None,
    parallelism: int,
    quiet: bool,
    settings: Settings | None = None,
    buckets: int | None = None,
) -> dict[str, Any]:
    """The backfill on the Flink cluster; returns the run summary (counts, seconds, rates)."""
    s = settings or Settings()
    names = feature_names(features)
    run = s.home / "backfill" / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    t0 = time.perf_counter()
    label_table = read_labels(labels)
    spec = Path(events)
    if spec.suffix == ".jsonl" or (spec.is_dir() and any(spec.glob("*.jsonl"))):
        events_path, n_events = spec, -1
        rejected: dict[str, int] = {}
        _, labels_path = stage(EVENT_SCHEMA.empty_table(), label_table, run)
    else:
        table, rejected = read_events(events, data_dir, s)
        events_path, labels_path = stage(table, label_table, run)
        n_events = table.num_rows
    t1 = time.perf_counter()
    now_ms = time.time_ns() // 1_000_000
    b = buckets or BUCKETS_PER_SLOT * parallelism
    args = ["--events", str(events_path.resolve()), "--labels", str(labels_path.resolve())]
    args += ["--out", str((run / "out").resolve()), "--buckets", str(b), "--now-ms", str(now_ms)]
    args += ["--max-future-ms", str(s.max_future_ms)]
    args += ["--features", ",".join(names), "--job-name", f"userpulse-backfill-{run.name}"]
    if not quiet:
        print(f"flink: submitting the backfill to {s.rest_url} (p={parallelism}, {b} buckets)")
    submit_and_wait(s, args, parallelism)
    t2 = time.perf_counter()
    write_output(collect(run / "out", label_table, names), out)
    t3 = time.perf_counter()
    return {
        "engine": f"flink (p={parallelism}, {b} buckets, {s.rest_url})",
        "events": n_events,
        "rejected_undecodable": rejected,
        "labels": label_table.num_rows,
        "features": len(names),
        "stage_s": round(t1 - t0, 3),
        "job_s": round(t2 - t1, 3),
        "collect_s": round(t3 - t2, 3),
        "total_s": round(t3 - t0, 3),
        "events_per_s": round(n_events / (t3 - t0)) if n_events >= 0 else None,
        "labels_per_s": round(label_table.num_rows / (t3 - t0)),
        "staged": str(run),
        "out": str(out),
    }
