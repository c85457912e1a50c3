"""`userpulse features get USER`: look features up (feature consumers)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import typer
from rich.console import Console
from rich.table import Table

from lookup import FeatureClient, FeatureResult
from userpulse.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Look features up (feature consumers).")
console = Console()


def _fmt_time(ms: int | None) -> str:
    if ms is None:
        return ""
    return (
        datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        + "Z"
    )


def render(user: str, res: dict[str, FeatureResult], as_of: int | None) -> Table:
    """A rich table of one user's features."""
    title = f"features of {user!r} as of {_fmt_time(as_of) if as_of else 'now'}"
    t = Table(title=title)
    for col in ("feature", "value", "status", "newest event (UTC)"):
        t.add_column(col)
    for name, r in res.items():
        t.add_row(
            name,
            "" if r.value is None else str(r.value),
            r.status.value,
            _fmt_time(r.newest_event_time_ms),
        )
    return t


@app.command("get")
def get(
    user: str = typer.Argument(..., help="User id (1..128 bytes UTF-8)."),
    as_of: int | None = typer.Option(None, "--as-of", help="UTC epoch ms; default now."),
    feature: list[str] = typer.Option(None, "--feature", "-f", help="Feature name (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print one user's features as of a time."""
    settings = Settings()
    client = FeatureClient.from_url(settings.redis_url)
    if as_of is None:
        as_of = time.time_ns() // 1_000_000
    try:
        res = client.get(user, feature or None, as_of)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        out = {
            n: {
                "value": r.value,
                "status": r.status.value,
                "newest_event_time_ms": r.newest_event_time_ms,
            }
            for n, r in res.items()
        }
        typer.echo(json.dumps({"user_id": user, "as_of": as_of, "features": out}, indent=2))
    else:
        console.print(render(user, res, as_of))
