"""`userpulse produce synthetic|replay`: load testers' producers (design section 2).

Settings are built once here (flags > ``USERPULSE_*`` environment > settings file) and passed
down. Bad flags fail before any connection with a message naming the flag to change. The exit
code is 0 when every record was delivered, 1 when some failed or stayed undelivered.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from producers.kafka_out import EventSink, ProducerError
from producers.pacing import DEFAULT_MAX_SLEEP_S, RunSummary
from producers.replay import (
    DATASETS,
    DEFAULT_DATA_DIR,
    DatasetError,
    read_dataset,
    replay,
)
from producers.synthetic import EventMix, run_synthetic
from userpulse.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Produce events to Kafka: synthetic load or replay.")

_err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        _err.print(f"[red]invalid settings[/] (environment USERPULSE_* or settings file):\n{exc}")
        raise typer.Exit(2) from None


def _open_sink(settings: Settings, topic: str | None) -> EventSink:
    sink = EventSink(settings.kafka_bootstrap, topic or settings.topic)
    try:
        partitions = sink.check_connection()
    except ProducerError as exc:
        _err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    if partitions is None:
        _err.print(
            f"[yellow]topic {sink.topic!r} does not exist on {sink.bootstrap}; it is created only "
            "if the broker auto-creates topics (`userpulse up` creates the default topics)[/]"
        )
    return sink


def _finish(summary: RunSummary, progress: bool) -> None:
    """Warn when the schedule was not held; exit 1 when records were not delivered."""
    if not progress:  # with progress on, the run already printed its summary table
        _err.print(summary.table())
    if summary.target_rate_per_s is not None and summary.max_behind_s > 1.0:
        _err.print(
            f"[yellow]the producer fell up to {summary.max_behind_s:,.1f} s behind the "
            f"{summary.target_rate_per_s:,.0f}/s schedule (it reached "
            f"{summary.achieved_rate_per_s:,.0f}/s); event times lag the wall clock by as much. "
            "Lower --rate or run several producers.[/]"
        )
    if summary.failed or summary.undelivered:
        raise typer.Exit(1)


@app.command()
def synthetic(
    rate: float = typer.Option(1_000.0, "--rate", help="Target events per second (> 0)."),
    duration: float = typer.Option(60.0, "--duration", help="Run length in seconds (> 0)."),
    users: int = typer.Option(10_000, "--users", help="Distinct users (>= 1)."),
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed, same traffic."),
    zipf: float = typer.Option(1.1, "--zipf", help="Zipf exponent of user popularity (>= 0)."),
    mix: str = typer.Option(
        "click=0.2,scroll=0.3,hover=0.5", "--mix", help="Event-type weights, e.g. click=1,hover=1."
    ),
    topic: str | None = typer.Option(None, "--topic", help="Topic (default: USERPULSE_TOPIC)."),
    progress: bool = typer.Option(
        True, "--progress/--quiet", help="Live progress bar (the summary is always printed)."
    ),
) -> None:
    """Send seeded, Zipf-skewed click/scroll/hover traffic at a target rate; event time = now."""
    settings = _settings()
    if not (math.isfinite(rate) and rate > 0):
        raise typer.BadParameter(
            f"must be > 0 events/s, got {rate}; e.g. --rate 1000", param_hint="--rate"
        )
    if not (math.isfinite(duration) and duration > 0):
        raise typer.BadParameter(
            f"must be > 0 seconds, got {duration}; e.g. --duration 60", param_hint="--duration"
        )
    if users < 1:
        raise typer.BadParameter(f"must be >= 1, got {users}", param_hint="--users")
    if not (math.isfinite(zipf) and zipf >= 0):
        raise typer.BadParameter(f"must be >= 0 (1.1 is typical), got {zipf}", param_hint="--zipf")
    try:
        event_mix = EventMix.parse(mix)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mix") from None
    sink = _open_sink(settings, topic)
    summary = run_synthetic(
        sink, rate, duration, users, seed, progress, zipf_s=zipf, mix=event_mix, console=_err
    )
    _finish(summary, progress)


@app.command("replay")
def replay_cmd(
    dataset: str = typer.Argument(..., help=f"One of: {', '.join(DATASETS)}."),
    speed: float | None = typer.Option(
        None, "--speed", help="Replay pace: 1 = recorded event-time gaps, 10 = ten times faster."
    ),
    max_speed: bool = typer.Option(False, "--max-speed", help="As fast as possible (default)."),
    limit: int | None = typer.Option(None, "--limit", help="Send only the first N events (>= 1)."),
    topic: str | None = typer.Option(None, "--topic", help="Topic (default: USERPULSE_TOPIC)."),
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Folder of the recorded logs (read in place).")
    ] = DEFAULT_DATA_DIR,
    max_sleep: float = typer.Option(
        DEFAULT_MAX_SLEEP_S, "--max-sleep", help="Paced replay: longest pause between events, s."
    ),
    progress: bool = typer.Option(
        True, "--progress/--quiet", help="Live progress bar (the summary is always printed)."
    ),
) -> None:
    """Replay a recorded log (EB-NeRD, Globo.com G1, OTTO) in event-time order."""
    settings = _settings()
    if dataset not in DATASETS:
        raise typer.BadParameter(
            f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}",
            param_hint="DATASET",
        )
    if speed is not None and max_speed:
        raise typer.BadParameter(
            "give either --speed X or --max-speed, not both", param_hint="--speed"
        )
    if speed is not None and not speed > 0:
        raise typer.BadParameter(
            f"must be > 0 (e.g. --speed 10), or use --max-speed; got {speed}", param_hint="--speed"
        )
    if limit is not None and limit < 1:
        raise typer.BadParameter(f"must be >= 1, got {limit}", param_hint="--limit")
    if not max_sleep >= 0:
        raise typer.BadParameter(f"must be >= 0 seconds, got {max_sleep}", param_hint="--max-sleep")
    try:
        data = read_dataset(dataset, data_dir)
    except DatasetError as exc:
        raise typer.BadParameter(str(exc), param_hint="--data-dir") from None
    events = data.events if limit is None else data.events[:limit]
    sink = _open_sink(settings, topic)
    summary = replay(
        sink,
        events,
        None if max_speed else speed,
        max_sleep_s=max_sleep,
        progress=progress,
        source=f"replay:{dataset}",
        skipped=data.skipped,
        console=_err,
    )
    _finish(summary, progress)
