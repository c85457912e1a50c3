"""The ``userpulse`` command line: one app, one sub-module per kind of user.

- ``userpulse up`` / ``down`` / ``status``: the local stack (stack_cmd)
- ``userpulse produce synthetic|replay``: load testers (produce_cmd)
- ``userpulse job run|submit|list|status|stop|resume|rescale|cancel``: job owners (job_cmd)
- ``userpulse cluster up|down|status|kill``: the local Flink session cluster (cluster_cmd)
- ``userpulse features get|serve|backfill``: feature consumers (features_cmd, backfill_cmd)
- ``userpulse demo``: the whole path once (demo_cmd)
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import typer
from pydantic import ValidationError

from userpulse.cli import features_cmd
from userpulse.cli.errors import EXIT_EXPECTED, fail
from userpulse.errors import UserpulseError

# Importable without the `job` extra (a lookup-only install has no PyFlink, Kafka client, Avro):
# the commands that need it are registered only when their modules import, else they say what
# to install.
JOB_ONLY_MODULES = (
    "pyflink",
    "apache_beam",
    "confluent_kafka",
    "fastavro",
    "pyarrow",
    "pandas",
    "httpx",
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def _optional(name: str) -> ModuleType | None:
    """``userpulse.cli.<name>``, or None when a job-only dependency is not installed."""
    try:
        return importlib.import_module(f"userpulse.cli.{name}")
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in JOB_ONLY_MODULES:
            return None
        raise


def _needs_job_extra(command: str) -> typer.Typer:
    stub = typer.Typer(help="(needs the `job` extra: pip install 'userpulse\\[job]')")

    @stub.callback(invoke_without_command=True)
    def _missing() -> None:
        sys.stderr.write(
            f"error: `userpulse {command}` needs the job extra: pip install 'userpulse[job]'\n"
        )
        raise typer.Exit(EXIT_EXPECTED)

    return stub


stack_cmd = _optional("stack_cmd")
if stack_cmd is not None:
    stack_cmd.register(app)
else:
    for _cmd in ("up", "down", "status"):
        app.add_typer(_needs_job_extra(_cmd), name=_cmd)
for _name, _mod in (("produce", "produce_cmd"), ("job", "job_cmd"), ("cluster", "cluster_cmd")):
    _m = _optional(_mod)
    app.add_typer(_m.app if _m is not None else _needs_job_extra(_name), name=_name)
app.add_typer(features_cmd.app, name="features")
demo_cmd = _optional("demo_cmd")
if demo_cmd is not None:
    app.command("demo")(demo_cmd.demo)
else:
    app.add_typer(_needs_job_extra("demo"), name="demo")


def main() -> None:
    """Console-script entry point: an expected error (:class:`userpulse.errors.UserpulseError`,
    an invalid setting, a missing extra) ends with one line naming what to change, exit 2."""
    try:
        app()
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in JOB_ONLY_MODULES:
            raise
        sys.stderr.write(
            f"error: this command needs the job extra ({exc.name} is not installed): "
            "pip install 'userpulse[job]'\n"
        )
        sys.exit(EXIT_EXPECTED)
    except (UserpulseError, ValidationError) as exc:
        fail(exc)
        sys.exit(EXIT_EXPECTED)
