"""`userpulse cluster up|down|status|kill`: the local Flink session cluster (stack/flink.py)."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from userpulse.cli.errors import fail
from userpulse.settings import Settings
from userpulse.stack.flink import ClusterStatus, FlinkCluster
from userpulse.stack.process import StackError

app = typer.Typer(
    no_args_is_help=True,
    help="The local Flink standalone session cluster (JobManager + TaskManagers) for job submit.",
)
console = Console()


def _show(st: ClusterStatus, cluster: FlinkCluster) -> None:
    if not st.reachable:
        console.print(f"Flink REST API at {st.rest_url}: [red]not reachable[/red]")
    else:
        console.print(
            f"Flink {st.flink_version} at {st.rest_url}: {st.taskmanagers} TaskManager(s), "
            f"{st.slots_available}/{st.slots_total} slots free, {st.jobs_running} job(s) running"
        )
        alive = len(st.pids.get("taskexecutor", []))
        console.print(
            f"TaskManagers: {st.taskmanagers}/{st.expected} registered, {alive}/{st.expected} "
            "processes alive"
        )
        if st.missing_taskmanagers:
            console.print(
                f"[red]{st.missing_taskmanagers} TaskManager(s) missing[/red]: "
                "`userpulse cluster up` restarts them"
            )
    pids = ", ".join(f"{k}: {v}" for k, v in st.pids.items() if v) or "none of ours"
    console.print(f"daemons: {pids}; logs: {cluster.log_dir}")


@app.command("up")
def up(
    taskmanagers: int | None = typer.Option(
        None, min=1, max=16, help="TaskManagers (default USERPULSE_FLINK_TASKMANAGERS, 2)."
    ),
    timeout_s: float = typer.Option(120.0, help="Seconds to wait for the TaskManagers."),
) -> None:
    """Start a JobManager and the TaskManagers (no-op for those already running); on a running
    cluster, restarts TaskManagers that died."""
    overrides = {"flink_taskmanagers": taskmanagers} if taskmanagers else {}
    cluster = FlinkCluster(Settings(**overrides))  # type: ignore[arg-type]
    t0 = time.monotonic()
    try:
        with console.status("starting the Flink session cluster ..."):
            st = cluster.up(timeout_s=timeout_s)
    except StackError as e:
        raise fail(e) from None
    _show(st, cluster)
    console.print(f"[green]cluster is up[/green] ({time.monotonic() - t0:.1f} s)")


@app.command("down")
def down() -> None:
    """Stop our TaskManagers and JobManager (stop jobs with `userpulse job stop` first)."""
    cluster = FlinkCluster(Settings())
    try:
        cluster.down()
    except StackError as e:
        raise fail(e) from None
    console.print("[green]cluster is down[/green]")


@app.command("status")
def status() -> None:
    """What the cluster's REST API reports, our daemons, and missing TaskManagers (exit code 2
    when the cluster is up but some are missing)."""
    cluster = FlinkCluster(Settings())
    st = cluster.status()
    _show(st, cluster)
    if st.reachable and st.missing_taskmanagers:
        raise typer.Exit(2)


@app.command("kill")
def kill() -> None:
    """kill -9 every daemon of the local cluster (failure drill: resume from the latest
    retained checkpoint afterwards with `userpulse job resume --latest-checkpoint`)."""
    killed = FlinkCluster(Settings()).kill()
    console.print(f"killed {len(killed)} process(es): {killed}")
