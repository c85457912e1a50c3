"""`userpulse job ...`: run the feature job locally, or submit and operate it on a Flink cluster.

- ``run``: PyFlink's local execution in this process (``--bounded`` for a backlog).
- ``submit`` / ``list`` / ``status`` / ``stop`` / ``resume`` / ``rescale`` / ``cancel``: a
  Flink cluster through its CLI and REST API (``USERPULSE_FLINK_REST_URL``; default the local
  session cluster of ``userpulse cluster up``), see jobs/control.py and docs/operations.md.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import typer
from rich.console import Console
from rich.table import Table

from userpulse.cli.errors import fail
from userpulse.jobs import control
from userpulse.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Run, submit and operate the feature job.")
console = Console()


def _settings(**overrides: object) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]


def _submit(s: Settings, from_path: str | None, doing: str) -> None:
    """Submit (from a savepoint or checkpoint when given) and say which job runs."""
    try:
        with console.status(f"{doing} ..."):
            job_id = control.submit(s, from_path=from_path)
    except control.JobControlError as e:
        raise fail(e) from None
    console.print(f"[green]running[/green] job {job_id} with parallelism {s.parallelism}")


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
    settings = _settings(topic=topic, parallelism=parallelism, group_id=group_id)
    from userpulse.jobs.runner import run_job  # PyFlink import is slow; only when running a job

    t0 = time.monotonic()
    summary = run_job(settings, bounded=bounded)
    console.print(
        f"[green]job finished[/] in {time.monotonic() - t0:.1f} s; "
        f"dead-letter records: {summary['dead_lettered']}, late records: {summary['late']}"
    )


PARALLELISM = typer.Option(None, "--parallelism", "-p", min=1, help="Job parallelism.")


@app.command("submit")
def submit(
    parallelism: int | None = PARALLELISM,
    from_path: str | None = typer.Option(
        None, "--from", help="Start from this savepoint or retained checkpoint (URI or path)."
    ),
) -> None:
    """Submit the feature job to the cluster (detached) and wait until all its tasks run."""
    s = _settings(parallelism=parallelism)
    _submit(s, from_path, f"submitting to {s.rest_url}")


@app.command("list")
def list_jobs() -> None:
    """Jobs the cluster knows, newest first."""
    s = Settings()
    try:
        jobs = control.FlinkRest(s.rest_url).jobs()
    except control.JobControlError as e:
        raise fail(e) from None
    table = Table(title=f"jobs at {s.rest_url}")
    for col in ("job id", "name", "state", "started (UTC)"):
        table.add_column(col)
    for j in jobs:
        started = datetime.fromtimestamp(j.start_time_ms / 1000, tz=timezone.utc)
        table.add_row(j.job_id, j.name, j.state, started.strftime("%Y-%m-%d %H:%M:%S"))
    console.print(table)


@app.command("status")
def status(job_id: str | None = typer.Argument(None, help="Default: the running job.")) -> None:
    """State, parallelism per operator and the latest checkpoint of a job."""
    s = Settings()
    try:
        jid = control.the_running_job(s, job_id)
        rest = control.FlinkRest(s.rest_url)
        info = rest.job(jid)
        cps = rest.get(f"/jobs/{jid}/checkpoints")
    except control.JobControlError as e:
        raise fail(e) from None
    console.print(f"job {jid} ({info['name']}): [bold]{info['state']}[/bold]")
    for v in info["vertices"]:
        console.print(f"  {v['parallelism']} x {v['name']} ({v['status']})")
    counts = cps.get("counts", {})
    done = (cps.get("latest") or {}).get("completed") or {}
    console.print(
        f"checkpoints: {counts.get('completed', 0)} completed, {counts.get('failed', 0)} failed; "
        f"latest: {done.get('external_path', '-')}"
    )


@app.command("stop")
def stop(
    job_id: str | None = typer.Argument(None, help="Default: the running job."),
    drain: bool = typer.Option(
        False, help="Advance the watermark to the end first (ends all windows: for retiring)."
    ),
) -> None:
    """Stop the job with a savepoint (recorded for `resume`)."""
    _stop(Settings(), job_id, drain)


def _stop(s: Settings, job_id: str | None, drain: bool = False) -> str:
    """Stop with a savepoint, record it in the ledger, say where it is; returns its location."""
    try:
        jid = control.the_running_job(s, job_id)
        p = control.job_parallelism(control.FlinkRest(s.rest_url).job(jid))
        with console.status(f"stopping {jid} with a savepoint ..."):
            location = control.stop_with_savepoint(s, jid, drain=drain)
    except control.JobControlError as e:
        raise fail(e) from None
    control.record_savepoint(s, jid, p, location)
    console.print(f"[green]stopped[/green] {jid} (parallelism {p}); savepoint: {location}")
    return location


@app.command("resume")
def resume(
    parallelism: int | None = PARALLELISM,
    from_path: str | None = typer.Option(None, "--from", help="Savepoint or checkpoint path."),
    latest_checkpoint: bool = typer.Option(
        False, "--latest-checkpoint", help="From the newest retained checkpoint (after a crash)."
    ),
    job_id: str | None = typer.Option(None, help="With --latest-checkpoint: that job's."),
) -> None:
    """Resume from the last savepoint taken by `stop` (default), a given one, or the newest
    retained checkpoint; with the parallelism of the job that wrote it unless -p says otherwise
    (the default parallelism when that is unknown)."""
    s0 = Settings()
    try:
        if from_path is None and latest_checkpoint:
            from_path = control.latest_checkpoint(s0, job_id)
        elif from_path is None:
            from_path = control.last_savepoint(s0)["location"]
    except control.JobControlError as e:
        raise fail(e) from None
    parallelism = parallelism or control.stopped_parallelism(s0, from_path)
    _submit(_settings(parallelism=parallelism), from_path, f"resuming from {from_path}")


@app.command("rescale")
def rescale(
    parallelism: int = typer.Option(..., "--parallelism", "-p", min=1, help="New parallelism."),
    job_id: str | None = typer.Argument(None, help="Default: the running job."),
) -> None:
    """Stop with a savepoint and resume from it with the new parallelism."""
    s = _settings(parallelism=parallelism)
    location = _stop(s, job_id)
    _submit(s, location, f"resuming with parallelism {parallelism}")


@app.command("cancel")
def cancel(job_id: str | None = typer.Argument(None, help="Default: the running job.")) -> None:
    """Cancel without a savepoint; the latest checkpoint is retained (resume with
    --latest-checkpoint)."""
    s = Settings()
    try:
        jid = control.the_running_job(s, job_id)
        control.cancel(s, jid)
    except control.JobControlError as e:
        raise fail(e) from None
    console.print(f"canceled {jid}")
