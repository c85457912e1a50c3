"""`userpulse produce synthetic|replay`: load testers' producers (design section 2).

Settings are built once here (flags > ``USERPULSE_*`` environment > settings file) and passed
down. Bad flags fail before any connection with a message naming the flag to change. The exit
code is 0 when every record was delivered, 1 when some failed or stayed undelivered.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from userpulse import kafka_conf
from userpulse.cli.errors import fail
from userpulse.producers.kafka_out import EventSink, ProducerError
from userpulse.producers.pacing import DEFAULT_MAX_SLEEP_S, RunSummary
from userpulse.producers.replay import (
    DATASETS,
    DatasetError,
    multiply,
    read_dataset,
    replay,
)
from userpulse.producers.synthetic import EventMix
from userpulse.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Produce events to Kafka: synthetic load or replay.")

_err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise fail(exc) from None


def _framed(settings: Settings, framing: str | None) -> Settings:
    """``settings`` with ``--framing`` applied (it wins over USERPULSE_FRAMING)."""
    if framing is None:
        return settings
    if framing not in ("single-object", "confluent"):
        raise typer.BadParameter(
            f"must be single-object or confluent, got {framing!r}", param_hint="--framing"
        )
    if framing == "confluent" and settings.registry_url is None:
        raise typer.BadParameter(
            "confluent framing needs a schema registry: set USERPULSE_SCHEMA_REGISTRY_URL, or "
            "USERPULSE_REGISTRY=true with the local one (`userpulse up --registry`)",
            param_hint="--framing",
        )
    return settings.model_copy(update={"framing": framing})


def _open_sink(settings: Settings, topic: str | None) -> EventSink:
    try:
        sink = EventSink.for_settings(settings, topic)
    except ProducerError as exc:
        _err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    try:
        partitions = sink.check_connection()
    except ProducerError as exc:
        raise fail(exc) from None
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


def _fraction(value: float, flag: str) -> float:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise typer.BadParameter(f"must be a fraction in [0, 1], got {value}", param_hint=flag)
    return value


def _write_summary(summary: RunSummary, path: str | None) -> None:
    """``--summary-json PATH`` writes the summary as JSON; ``-`` prints it to stdout."""
    if path is None:
        return
    text = json.dumps(summary.to_dict(), indent=2, sort_keys=True)
    if path == "-":
        typer.echo(text)
    else:
        Path(path).write_text(text + "\n")


@app.command()
def synthetic(
    rate: float = typer.Option(1_000.0, "--rate", help="Target (base) events per second (> 0)."),
    duration: float = typer.Option(60.0, "--duration", help="Run length in seconds (> 0)."),
    users: int = typer.Option(10_000, "--users", help="Distinct users (>= 1)."),
    items: int = typer.Option(50_000, "--items", help="Distinct items (>= 1)."),
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed, same traffic."),
    zipf: float = typer.Option(1.1, "--zipf", help="Zipf exponent of user popularity (>= 0)."),
    item_zipf: float = typer.Option(
        1.1, "--item-zipf", help="Zipf exponent of item popularity (>= 0)."
    ),
    mix: str = typer.Option(
        "click=0.2,scroll=0.3,hover=0.5", "--mix", help="Event-type weights, e.g. click=1,hover=1."
    ),
    profile: str = typer.Option(
        "constant",
        "--profile",
        help="Rate profile: constant | step:T1=R1,T2=R2 (s=events/s) | diurnal:PERIOD_S[:AMP].",
    ),
    burst: str | None = typer.Option(
        None, "--burst", help="Bursts EVERY_S:LENGTH_S:FACTOR, e.g. 30:2:3 (3x for 2 s every 30 s)."
    ),
    out_of_order: float = typer.Option(
        0.0, "--out-of-order", help="Fraction sent out of order within the out-of-orderness."
    ),
    late: float = typer.Option(
        0.0, "--late", help="Fraction sent beyond the allowed lateness (USERPULSE_ALLOWED_...)."
    ),
    malformed: float = typer.Option(
        0.0, "--malformed", help="Fraction replaced by bad bytes (8 kinds, see docs/load.md)."
    ),
    processes: int = typer.Option(
        1, "--processes", help="Producer processes (each a derived seed and 1/N of the rate)."
    ),
    metrics_port: int = typer.Option(
        0, "--metrics-port", help="Serve Prometheus /metrics on this port (0 = off)."
    ),
    summary_json: str | None = typer.Option(
        None, "--summary-json", help="Write the final summary as JSON to PATH ('-' = stdout)."
    ),
    topic: str | None = typer.Option(None, "--topic", help="Topic (default: USERPULSE_TOPIC)."),
    framing: str | None = typer.Option(
        None,
        "--framing",
        help="single-object (registry-free default) or confluent (schema id from the registry; "
        "default: USERPULSE_FRAMING).",
    ),
    progress: bool = typer.Option(
        True, "--progress/--quiet", help="Live progress bar (the summary is always printed)."
    ),
) -> None:
    """Send seeded, Zipf-skewed click/scroll/hover traffic at a target rate; event time = now."""
    from userpulse.producers.faults import FaultSpec
    from userpulse.producers.load import LoadSpec, run_load
    from userpulse.producers.metrics import ProducerMetrics
    from userpulse.producers.parallel import run_parallel
    from userpulse.producers.profile import ProfileError, RateProfile

    settings = _framed(_settings(), framing)
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
    if items < 1:
        raise typer.BadParameter(f"must be >= 1, got {items}", param_hint="--items")
    for value, flag in ((zipf, "--zipf"), (item_zipf, "--item-zipf")):
        if not (math.isfinite(value) and value >= 0):
            raise typer.BadParameter(f"must be >= 0 (1.1 is typical), got {value}", param_hint=flag)
    if not 1 <= processes <= min(users, 64):
        raise typer.BadParameter(
            f"must be 1..{min(users, 64)} (and <= --users), got {processes}",
            param_hint="--processes",
        )
    if not 0 <= metrics_port <= 65535:
        raise typer.BadParameter(
            f"must be a port 0..65535, got {metrics_port}", param_hint="--metrics-port"
        )
    try:
        event_mix = EventMix.parse(mix)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mix") from None
    try:
        rate_profile = RateProfile.parse(profile, rate, burst)
    except ProfileError as exc:
        hint = "--burst" if burst and "burst" in str(exc) else "--profile"
        raise typer.BadParameter(str(exc), param_hint=hint) from None
    fractions = {
        "--out-of-order": _fraction(out_of_order, "--out-of-order"),
        "--late": _fraction(late, "--late"),
        "--malformed": _fraction(malformed, "--malformed"),
    }
    if sum(fractions.values()) > 1:
        raise typer.BadParameter(
            f"--out-of-order + --late + --malformed = {sum(fractions.values())} > 1",
            param_hint="--malformed",
        )
    faults = FaultSpec(
        out_of_order,
        late,
        malformed,
        out_of_orderness_ms=max(settings.out_of_orderness_ms, 1),
        allowed_lateness_ms=settings.allowed_lateness_ms,
    )
    spec = LoadSpec(
        rate_profile,
        duration,
        users=users,
        seed=seed,
        zipf_s=zipf,
        items=items,
        item_zipf_s=item_zipf,
        mix=event_mix,
        faults=faults,
    )
    sink = _open_sink(settings, topic)
    metrics = ProducerMetrics(spec.expected_count() / duration)
    try:
        metrics.serve(metrics_port)
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot serve on {metrics_port}: {exc}", param_hint="--metrics-port"
        ) from None
    out = _err if progress else None
    if processes == 1:
        summary = run_load(sink, spec, console=out, on_tick=metrics.update)
    else:
        try:
            summary = run_parallel(
                sink.bootstrap,
                sink.topic,
                spec,
                processes,
                console=out,
                on_tick=metrics.update,
                producer_config=kafka_conf.librdkafka_config(settings),
                encoder=sink.encoder,
            )
        except ProducerError as exc:
            raise fail(exc) from None
    if out is not None:
        out.print(summary.table())
    _write_summary(summary, summary_json)
    _finish(summary, progress)


@app.command("replay")
def replay_cmd(
    dataset: str = typer.Argument(..., help=f"One of: {', '.join(DATASETS)}."),
    speed: float | None = typer.Option(
        None, "--speed", help="Replay pace: 1 = recorded event-time gaps, 10 = ten times faster."
    ),
    max_speed: bool = typer.Option(False, "--max-speed", help="As fast as possible (default)."),
    limit: int | None = typer.Option(None, "--limit", help="Send only the first N events (>= 1)."),
    copies: int = typer.Option(
        1, "--copies", help="Multiply the users: N copies, users <id>#<copy> (docs/replay.md)."
    ),
    copy_shift_ms: int = typer.Option(
        1_000, "--copy-shift-ms", help="Event-time shift between consecutive copies, ms (>= 0)."
    ),
    summary_json: str | None = typer.Option(
        None, "--summary-json", help="Write the final summary as JSON to PATH ('-' = stdout)."
    ),
    topic: str | None = typer.Option(None, "--topic", help="Topic (default: USERPULSE_TOPIC)."),
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder of the recorded logs (read in place); default: USERPULSE_REPLAY_DATA_DIR.",
        ),
    ] = None,
    max_sleep: float = typer.Option(
        DEFAULT_MAX_SLEEP_S, "--max-sleep", help="Paced replay: longest pause between events, s."
    ),
    framing: str | None = typer.Option(
        None,
        "--framing",
        help="single-object (registry-free default) or confluent (schema id from the registry; "
        "default: USERPULSE_FRAMING).",
    ),
    progress: bool = typer.Option(
        True, "--progress/--quiet", help="Live progress bar (the summary is always printed)."
    ),
) -> None:
    """Replay a recorded log (EB-NeRD, Globo.com G1, OTTO) in event-time order."""
    settings = _framed(_settings(), framing)
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
    if not 1 <= copies <= 10_000:
        raise typer.BadParameter(f"must be 1..10000, got {copies}", param_hint="--copies")
    if copy_shift_ms < 0:
        raise typer.BadParameter(
            f"must be >= 0 ms, got {copy_shift_ms}", param_hint="--copy-shift-ms"
        )
    if not max_sleep >= 0:
        raise typer.BadParameter(f"must be >= 0 seconds, got {max_sleep}", param_hint="--max-sleep")
    try:
        data = read_dataset(dataset, data_dir or _settings().replay_data_dir)
    except DatasetError as exc:
        raise typer.BadParameter(str(exc), param_hint="--data-dir") from None
    events = data.events if limit is None else data.events[:limit]
    try:
        events = multiply(events, copies, copy_shift_ms)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--copies") from None
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
    _write_summary(summary, summary_json)
    _finish(summary, progress)
