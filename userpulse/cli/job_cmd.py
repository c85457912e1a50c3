"""`userpulse job run`: run the feature job with PyFlink's local execution."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from userpulse.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Run the feature job (job owners).")
console = Console()


@app.command("run")
def run(
    bounded: bool = typer.Option(
        False, "--bounded", help="Stop at the topic's current end and flush everything, then exit."
    ),
    topic: str | None = typer.Option(None, help="Input topic (default: settings.topic)."),
    parallelism: int | None = typer.Option(None, min=1, help="Flink parallelism."),
    group_id: str | None = typer.Option(None, help="Consumer group (offsets start from it)."),
) -> None:
    """Consume events, keep per-user tiles, write them to Redis; runs until stopped (Ctrl-C)."""
    overrides = {"topic": topic, "parallelism": parallelism, "group_id": group_id}
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    from jobs.runner import run_job  # PyFlink import is slow; only when running a job

    t0 = time.monotonic()
    summary = run_job(settings, bounded=bounded)
    console.print(
        f"[green]job finished[/] in {time.monotonic() - t0:.1f} s; "
        f"dead-letter records: {summary['dead_lettered']}, late records: {summary['late']}"
    )
