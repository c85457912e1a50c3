"""Loading the shared failure cases (../shared/cases/cases.json) as events."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests import REPO_ROOT
from userpulse.events import Event, EventType

SHARED_DIR = Path(os.environ.get("USERPULSE_SHARED_DIR", Path(REPO_ROOT).parent / "shared"))
"""The workplace's shared/ folder (beside the repo in CI); USERPULSE_SHARED_DIR overrides it."""
CASES_PATH = SHARED_DIR / "cases" / "cases.json"
DATA_DIR = SHARED_DIR / "data" / "real"


def load_cases() -> dict[str, dict[str, Any]]:
    """Cases by id (H01...)."""
    doc = json.loads(CASES_PATH.read_text())
    return {c["id"]: c for c in doc["cases"]}


def case_events(case: dict[str, Any]) -> list[Event]:
    """The case's valid events in arrival order, other required fields neutral."""
    out = []
    for i, e in enumerate(case["events"]):
        et = EventType(e["event_type"])
        out.append(
            Event(
                event_id=f"{case['id']}-{i}",
                event_type=et,
                user_id=e["user_id"],
                event_time_ms=e["event_time"],
                session_id="s",
                item_id=e.get("item_id"),
                dwell_ms=e.get("dwell_ms", 0 if et is EventType.HOVER else None),
                scroll_depth=e.get("scroll_depth", 0.0 if et is EventType.SCROLL else None),
            )
        )
    return out
