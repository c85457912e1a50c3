"""Empty windows: what every feature answers is what docs/features.md (column *empty*) says.

A real Redis (the project's RedisServer) holds one user written as the job writes it; the lookup
client reads it as of a time when every window is empty and there is no current session, and as
of a time before the user's first event. The reference implementation must agree, and the CLI
shows a present feature without a value as "—" with a note.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.lookupkit import T0, password_env, sample_events, start_redis, write_events
from userpulse.featuredocs import DOC_PATH
from userpulse.features import FEATURE_NAMES, STATE_FEATURES, empty_value
from userpulse.lookup import FeatureClient, Status
from userpulse.reference import Reference
from userpulse.settings import Settings

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000
SESSION = {f.name for f in STATE_FEATURES if f.kind.startswith("session_")}
WINDOWED = set(FEATURE_NAMES) - {f.name for f in STATE_FEATURES}
_ROW = re.compile(r"^\| `(?P<name>[a-z0-9_]+)` \|.*\| (?P<empty>[^|]+) \|$")
_DOC_VALUES: dict[str, Any] = {"0": 0, "null": None, "[]": []}


def documented() -> dict[str, Any]:
    """Column *empty* of docs/features.md, per feature, as a value."""
    out = {}
    for line in DOC_PATH.read_text().splitlines():
        m = _ROW.match(line)
        if m:
            out[m["name"]] = _DOC_VALUES[m["empty"].strip()]
    return out


@pytest.fixture(scope="module")
def store() -> Iterator[Settings]:
    with start_redis() as s:
        write_events(s, sample_events("quiet"))
        yield s


def test_the_docs_define_every_feature() -> None:
    doc = documented()
    assert sorted(doc) == sorted(FEATURE_NAMES)
    assert doc == {n: empty_value(n) for n in FEATURE_NAMES}


def test_empty_windows_and_no_session_answer_as_documented(store: Settings) -> None:
    """Two days after the user's events: every window is empty, the session is over."""
    as_of = T0 + 2 * DAY_MS
    got = FeatureClient.from_settings(store).get("quiet", sorted(WINDOWED | SESSION), as_of)
    doc, ref = documented(), Reference(sample_events("quiet")).features("quiet", as_of)
    for name, r in got.items():
        assert (name, r.status, r.value) == (name, Status.PRESENT, doc[name])
        assert ref[name] == doc[name], name
    assert got["count_click_24h"].value == 0 and got["max_depth_scroll_1h"].value is None
    assert got["session_events"].value is None  # no current session: no value, not 0


def test_before_the_first_event_every_feature_answers_as_documented(store: Settings) -> None:
    as_of = T0 - 2 * DAY_MS
    got = FeatureClient.from_settings(store).get("quiet", None, as_of)
    doc, ref = documented(), Reference(sample_events("quiet")).features("quiet", as_of)
    assert sorted(got) == sorted(FEATURE_NAMES)
    for name, r in got.items():
        assert (name, r.status, r.value) == (name, Status.PRESENT, doc[name])
        assert ref[name] == doc[name], name


def test_cli_shows_no_value_as_a_dash_with_a_note(store: Settings) -> None:
    env = {
        **os.environ,
        **password_env(store),
        "USERPULSE_HOME": str(store.home),
        "USERPULSE_REDIS_PORT": str(store.redis_port),
        "COLUMNS": "200",
    }
    as_of = T0 + 20 * 60_000  # 20 min after: 1m / 5m windows empty, the session still current
    feats = ["count_click_5m", "max_depth_scroll_5m", "max_depth_scroll_1h", "session_events"]
    args = [a for f in feats for a in ("-f", f)]
    done = subprocess.run(
        [sys.executable, "-m", "userpulse", "features", "get", "quiet", "--as-of", str(as_of)]
        + args,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = {
        ln.split("│")[1].strip(): ln.split("│")[2].strip()
        for ln in done.stdout.splitlines()
        if ln.count("│") >= 4 and ln.split("│")[1].strip() in feats
    }
    assert rows == {
        "count_click_5m": "0",
        "max_depth_scroll_5m": "—",
        "max_depth_scroll_1h": "0.5",
        "session_events": "6",
    }
    assert "— = no value" in done.stdout
