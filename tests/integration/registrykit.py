"""Helpers of the schema registry tests: a v2 of the event schema (case H10)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from userpulse.schemas.codec import SCHEMA_DIR


def v2_schema_dir(tmp: Path) -> Path:
    """A copy of ``schemas/`` under ``tmp`` whose event schema adds ``locale`` before the payload
    (optional, default null: the v2 of case H10 and of the JVM decode vectors)."""
    out = tmp / "schemas-v2"
    out.mkdir()
    for f in SCHEMA_DIR.glob("*.avsc"):
        shutil.copy(f, out / f.name)
    event = json.loads((out / "event.avsc").read_text())
    event["fields"].insert(
        len(event["fields"]) - 1, {"name": "locale", "type": ["null", "string"], "default": None}
    )
    (out / "event.avsc").write_text(json.dumps(event))
    return out
