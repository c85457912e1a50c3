"""The ``userpulse`` command line: one app, one sub-module per kind of user.

- ``userpulse up`` / ``down`` / ``status``: the local stack (stack_cmd)
- ``userpulse produce synthetic|replay``: load testers (produce_cmd)
- ``userpulse job run``: job owners (job_cmd)
- ``userpulse features get``: feature consumers (features_cmd)
- ``userpulse demo``: the whole path once (demo_cmd)
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from userpulse.cli import demo_cmd, features_cmd, job_cmd, produce_cmd, stack_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
stack_cmd.register(app)
app.add_typer(produce_cmd.app, name="produce")
app.add_typer(job_cmd.app, name="job")
app.add_typer(features_cmd.app, name="features")
app.command("demo")(demo_cmd.demo)


def main() -> None:
    """Console-script entry point; a bad setting ends with one line saying what to change."""
    try:
        app()
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()
        ]
        sys.stderr.write(
            "error: invalid settings (flags, USERPULSE_* environment variables or userpulse.env):\n"
            + "\n".join(lines)
            + "\n"
        )
        sys.exit(2)
