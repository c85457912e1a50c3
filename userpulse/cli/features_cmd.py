"""`userpulse features get USER` and `userpulse features serve`: lookups (feature consumers);
`userpulse features backfill`: training data from the event history (cli/backfill_cmd.py).

Both connect to Redis as the read-only lookup ACL user (credentials and TLS from settings: the
environment or files, never flags). Neither imports PyFlink or the Kafka client; `serve` needs the
`service` extra (FastAPI, uvicorn).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone

import typer
from rich.console import Console
from rich.table import Table

from userpulse import redis_conn
from userpulse.cli.backfill_cmd import backfill as backfill_command
from userpulse.cli.errors import fail
from userpulse.lookup import FeatureClient, FeatureResult, InvalidRequest, Status, StoreUnavailable
from userpulse.lookup.request import result_json
from userpulse.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Look features up (feature consumers).")
app.command("backfill")(backfill_command)
console = Console()


def _fmt_time(ms: int | None) -> str:
    if ms is None:
        return ""
    return (
        datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        + "Z"
    )


NO_VALUE = "—"
"""How the tables show a ``present`` feature without a value (null: an empty window's max, mean or
ratio, no current session, no event yet; docs/features.md, column *empty*)."""
NO_VALUE_NOTE = (
    f"{NO_VALUE} = no value: nothing in the window to take a max, mean or ratio of, no current"
    " session, or no event yet (docs/features.md, column 'empty')"
)


def _fmt_value(v: object, status: Status) -> str:
    """A value for the table: last-k lists as their item ids (``[]`` when empty), floats to 4
    digits, :data:`NO_VALUE` for a present feature without a value, blank for other statuses."""
    if v is None:
        return NO_VALUE if status is Status.PRESENT else ""
    if isinstance(v, list):
        if not v:
            return "[]"
        return ", ".join(str(x.get("item_id")) for x in v[:5]) + (" …" if len(v) > 5 else "")
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def render(user: str, res: dict[str, FeatureResult], as_of: int | None) -> Table:
    """A rich table of one user's features; a caption explains :data:`NO_VALUE` when shown."""
    title = f"features of {user!r} as of {_fmt_time(as_of) if as_of else 'now'}"
    t = Table(title=title)
    for col in ("feature", "value", "status", "newest event (UTC)"):
        t.add_column(col)
    for name, r in res.items():
        t.add_row(
            name,
            _fmt_value(r.value, r.status),
            r.status.value,
            _fmt_time(r.newest_event_time_ms),
        )
    if any(r.value is None and r.status is Status.PRESENT for r in res.values()):
        t.caption = NO_VALUE_NOTE
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
    if as_of is None:
        as_of = time.time_ns() // 1_000_000
    try:
        client = FeatureClient.from_settings(settings, cluster=settings.redis_cluster)
        res = client.get(user, feature or None, as_of)
    except InvalidRequest as exc:
        raise typer.BadParameter(str(exc)) from None
    except (StoreUnavailable, ValueError) as exc:
        raise fail(exc) from None
    if as_json:
        out = {n: result_json(r) for n, r in res.items()}
        typer.echo(json.dumps({"user_id": user, "as_of": as_of, "features": out}, indent=2))
    else:
        console.print(render(user, res, as_of))


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, "--host", help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="TCP port (default 18080)."
    ),
) -> None:
    """Serve lookups over HTTP (OpenAPI at /openapi.json, metrics at /metrics) until Ctrl-C."""
    settings = Settings()
    try:
        from userpulse.lookup.service import serve as run_service
    except ModuleNotFoundError as exc:
        sys.stderr.write(
            f"error: the HTTP service needs the `service` extra ({exc.name} missing): "
            "pip install 'userpulse[service]'\n"
        )
        raise typer.Exit(2) from None
    try:  # an unusable password file fails here, in one line
        who = redis_conn.client_kwargs(settings, "lookup").get("username", "the default user")
    except ValueError as exc:
        raise fail(exc) from None
    scheme = "https" if settings.service_tls_cert_file else "http"
    console.print(
        f"serving lookups on {scheme}://{host or settings.service_host}:"
        f"{port or settings.service_port} (Redis {settings.redis_url} as {who})"
    )
    try:
        run_service(settings, host, port)
    except (StoreUnavailable, ValueError) as exc:
        raise fail(exc) from None


@app.command("docs")
def docs(
    write: bool = typer.Option(False, "--write", help="Rewrite docs/features.md."),
) -> None:
    """Print the features page generated from the definitions (or rewrite docs/features.md)."""
    from userpulse import featuredocs

    if write:
        changed = featuredocs.write()
        typer.echo(f"{featuredocs.DOC_PATH}: {'rewritten' if changed else 'up to date'}")
    else:
        typer.echo(featuredocs.render())
