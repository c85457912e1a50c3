"""`userpulse features backfill`: point-in-time training data from the event history.

Imports nothing heavy at import time (a lookup-only install has no pyarrow): the engine and the
sources load when the command runs. Exit codes: 0 done, 1 bad input (missing column, unknown
feature, unreadable file), 2 missing dependency.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from userpulse.cli.errors import fail

_err = Console(stderr=True)


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        disable=quiet,
        transient=False,
    )


def run_local(
    events: str,
    labels: Path,
    out: Path,
    features: list[str] | None,
    data_dir: Path | None,
    quiet: bool,
) -> dict[str, Any]:
    """Run the embedded backfill; returns the summary (counts, seconds, rates)."""
    from userpulse.backfill import backfill_columns, feature_names
    from userpulse.backfill.columns import from_table
    from userpulse.backfill.sources import read_events, read_labels, write_output
    from userpulse.settings import Settings

    names = feature_names(features)
    t0 = time.perf_counter()
    with _progress(quiet) as bar:
        step = bar.add_task("read events", total=None)
        s = Settings()
        table, undecodable = read_events(events, data_dir, s)
        label_table = read_labels(labels)
        bar.update(step, description="validate + sort events")
        ev = from_table(table, time.time_ns() // 1_000_000, s.max_future_ms)
        bar.update(step, total=1, completed=1, description=f"{len(ev):,} events")
        t1 = time.perf_counter()
        task = bar.add_task(f"features of {label_table.num_rows:,} labels", total=len(names))
        res = backfill_columns(ev, label_table, names, lambda n: bar.advance(task, n))
        t2 = time.perf_counter()
        w = bar.add_task(f"write {out.name}", total=1)
        write_output(res.table, out)
        bar.advance(w)
    t3 = time.perf_counter()
    return {
        "events": res.events,
        "rejected": {**res.rejected, **{f"undecodable {k}": v for k, v in undecodable.items()}},
        "labels": res.labels,
        "labels_user_not_found": res.users_not_found,
        "features": len(names),
        "read_s": round(t1 - t0, 3),
        "compute_s": round(t2 - t1, 3),
        "write_s": round(t3 - t2, 3),
        "total_s": round(t3 - t0, 3),
        "events_per_s": round(res.events / (t3 - t0)),
        "labels_per_s": round(res.labels / (t3 - t0)),
        "out": str(out),
    }


def backfill(
    events: str = typer.Option(
        ...,
        "--events",
        help="ebnerd|globo|otto (replay mapping), a .parquet/.csv file, folder or glob of events, "
        "or kafka:TOPIC (beginning to current end).",
    ),
    labels: Path = typer.Option(
        ..., "--labels", help="Parquet/CSV with user_id, as_of_ms (UTC epoch ms), any others."
    ),
    out: Path = typer.Option(..., "--out", help="Output .parquet or .csv."),
    features: list[str] = typer.Option(
        None, "--features", "-f", help="Feature names, repeatable or comma-separated (default all)."
    ),
    data_dir: Path = typer.Option(
        None, "--data-dir", help="Folder of the recorded logs (default: USERPULSE_REPLAY_DATA_DIR)."
    ),
    engine: str = typer.Option(
        "local", "--engine", help="local (embedded, default) or flink (the session cluster)."
    ),
    parallelism: int = typer.Option(2, "--parallelism", "-p", min=1, help="Flink parallelism."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    summary_json: Path = typer.Option(None, "--summary-json", help="Write the summary as JSON."),
) -> None:
    """Training data: the labels plus each feature as of its as_of_ms, with its status."""
    names = [n.strip() for f in features or [] for n in f.split(",") if n.strip()] or None
    try:
        from userpulse.backfill.errors import BackfillError
    except ModuleNotFoundError as exc:  # pragma: no cover - a lookup-only install
        _err.print(f"[red]backfill needs the job extra ({exc.name} missing)[/]")
        raise typer.Exit(2) from None
    try:
        if engine == "local":
            summary = run_local(events, labels, out, names, data_dir, quiet)
        elif engine == "flink":
            from userpulse.backfill.flink_run import run_on_cluster

            summary = run_on_cluster(events, labels, out, names, data_dir, parallelism, quiet)
        else:
            raise BackfillError(f"--engine must be local or flink, got {engine!r}")
    except BackfillError as exc:
        raise fail(exc) from None
    text = json.dumps(summary, indent=2)
    if summary_json is not None:
        summary_json.write_text(text + "\n")
    _err.print(text)
    sys.stderr.flush()
