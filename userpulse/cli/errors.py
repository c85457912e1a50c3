"""How the CLI reports an expected error: one line on stderr, ``error: ...``, and exit code 2.

Expected errors are :class:`userpulse.errors.UserpulseError` (every library error derives from
it) and pydantic's ``ValidationError`` for settings. Only the first line of a message is printed;
messages put what to change, or the log file to read, on that line.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from pydantic import ValidationError

EXIT_EXPECTED = 2
"""Exit code of an expected error (a bad flag or setting, a missing tool, a service down)."""


def one_line(exc: BaseException | str) -> str:
    """The first non-empty line of an error's message (or the class name when it has none)."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__ if isinstance(exc, BaseException) else "error"
    return text.splitlines()[0].rstrip(" :")


def _setting_error(e: Any) -> str:
    """One setting of a validation error; the value is shown unless it may be a secret."""
    loc = ".".join(str(p) for p in e["loc"]) or "settings"
    value = e.get("input")
    if loc == "settings" or isinstance(value, dict) or "password" in loc:
        return f"{loc}: {e['msg']}"
    return f"{loc}: {e['msg']} (got {value!r})"


def settings_line(exc: ValidationError) -> str:
    """Every bad setting of ``exc`` on one line, with where settings come from."""
    bad = "; ".join(_setting_error(e) for e in exc.errors())
    return f"invalid setting {bad} (flags, USERPULSE_* environment variables or userpulse.env)"


def fail(exc: BaseException | str) -> typer.Exit:
    """Print ``error: <one line>`` to stderr; returns the ``typer.Exit(2)`` to raise."""
    line = settings_line(exc) if isinstance(exc, ValidationError) else one_line(exc)
    sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()
    return typer.Exit(EXIT_EXPECTED)
