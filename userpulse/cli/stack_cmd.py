"""`userpulse up|down|status`: the local stack (Kafka broker + Redis), see userpulse.stack."""

from __future__ import annotations

import time

import typer
from confluent_kafka import KafkaException
from rich.console import Console
from rich.table import Table

from userpulse import stack
from userpulse.cli.errors import fail
from userpulse.settings import Settings

console = Console()
err_console = Console(stderr=True)


def _render(status: stack.StackStatus) -> None:
    table = Table(title="userpulse local stack")
    for col in ("service", "address", "reachable", "pid (ours)", "log"):
        table.add_column(col)
    services = [status.kafka, status.redis]
    if status.registry is not None:
        services.append(status.registry)
    for svc in services:
        table.add_row(
            svc.name,
            svc.address,
            "[green]yes[/green]" if svc.reachable else "[red]no[/red]",
            str(svc.pid) if svc.pid is not None else ("external" if svc.reachable else "-"),
            str(svc.log_file),
        )
    console.print(table)
    if status.topics:
        console.print(
            "topics: "
            + ", ".join(
                f"{n} ({p} partition{'' if p == 1 else 's'})"
                for n, p in sorted(status.topics.items())
            )
        )


def up(
    timeout_s: float = typer.Option(90.0, help="Seconds to wait for each service to be healthy."),
    registry: bool = typer.Option(
        False,
        "--registry",
        help="Also start the local schema registry (Apicurio, ~30 s; `make registry` fetches it). "
        "Same as USERPULSE_REGISTRY=true.",
    ),
) -> None:
    """Start the local Kafka broker and Redis (if not running) and create the topics."""
    settings = Settings()
    if registry:
        settings = settings.model_copy(update={"registry": True})
    started = time.monotonic()
    what = "Kafka, Redis and the schema registry" if settings.registry else "Kafka and Redis"
    try:
        with console.status(f"starting {what} ..."):
            status = stack.up(settings, timeout_s=timeout_s)
    except (stack.StackError, KafkaException) as e:
        raise fail(e) from None
    _render(status)
    console.print(f"[green]stack is up[/green] ({time.monotonic() - started:.1f} s)")


def down() -> None:
    """Stop the Kafka broker, Redis and registry that `userpulse up` started (data is kept)."""
    settings = Settings()
    try:
        status = stack.down(settings)
    except (stack.StackError, OSError) as e:
        raise fail(e) from None
    _render(status)
    registry_up = status.registry is not None and status.registry.reachable
    if status.kafka.reachable or status.redis.reachable or registry_up:
        console.print("[yellow]still reachable services were not started by userpulse[/yellow]")
    else:
        console.print("[green]stack is down[/green]")


def status() -> None:
    """Show whether Kafka and Redis (and the registry, when wanted or running) are reachable;
    exit 1 when one is not."""
    settings = Settings()
    try:
        st = stack.status(settings)
    except (stack.StackError, KafkaException) as e:
        raise fail(e) from None
    _render(st)
    if not st.healthy:  # an answer, not an error: exit 1
        err_console.print("the stack is not (fully) up: run `userpulse up` (or `make up`)")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the stack commands to the root app."""
    app.command("up")(up)
    app.command("down")(down)
    app.command("status")(status)
