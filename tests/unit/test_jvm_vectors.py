"""The JVM golden vectors and job spec committed under jvm/src/test/resources stay in sync with
the Python implementation (they are what the JUnit tests replay through the Java code)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.unit import jvm_vectors
from userpulse import jvmspec
from userpulse.settings import Settings

RESOURCES = Path(__file__).resolve().parents[2] / "jvm" / "src" / "test" / "resources"
REGENERATE = "regenerate: .venv/bin/python -m tests.unit.jvm_vectors jvm/src/test/resources"


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    return jvm_vectors.documents()


@pytest.mark.parametrize(
    "rel",
    [
        "spec/default.json",
        "vectors/floats.json",
        "vectors/layout.json",
        "vectors/sketch.json",
        "vectors/tilestate.json",
    ],
)
def test_committed_file_equals_a_fresh_generation(rel: str, fresh: dict[str, str]) -> None:
    committed = (RESOURCES / rel).read_text(encoding="utf-8")
    assert committed == fresh[rel], f"{rel} differs from what Python computes now; {REGENERATE}"


def _without_credentials(doc: dict[str, Any]) -> dict[str, Any]:
    doc["redis"]["username"] = doc["redis"]["password"] = None
    return doc


def test_committed_spec_is_the_default_settings_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    # the only machine-dependent values: the Redis ACL user and password (from the credentials
    # folder when `userpulse up` created one) and USERPULSE_* variables, both left out here
    for key in [k for k in os.environ if k.startswith("USERPULSE_")]:
        monkeypatch.delenv(key)
    live = json.loads(jvmspec.job_spec_json(Settings(_env_file=None)))  # type: ignore[call-arg]
    committed = json.loads((RESOURCES / "spec" / "default.json").read_text(encoding="utf-8"))
    assert _without_credentials(committed) == _without_credentials(live), REGENERATE


def test_every_document_is_checked(fresh: dict[str, str]) -> None:
    assert sorted(fresh) == [
        "spec/default.json",
        "vectors/floats.json",
        "vectors/layout.json",
        "vectors/sketch.json",
        "vectors/tilestate.json",
    ]


def test_vectors_cover_the_cases_the_jvm_must_match() -> None:
    doc = json.loads((RESOURCES / "vectors" / "tilestate.json").read_text(encoding="utf-8"))
    names = [c["name"] for c in doc["cases"]]
    assert names == [
        "in_order",
        "out_of_order_and_late",
        "duplicates_ties_non_ascii",
        "many_distinct_items",
        "floats_huge_dwell",
        "sessions_merge_horizon",
        "revival",
    ]
    ops = [op for c in doc["cases"] for op in c["ops"]]
    events = [op for op in ops if op["op"] == "event"]
    assert len(events) > 900
    assert sum(1 for op in ops if op["op"] == "expire" and op["expect"]["next"] is None) >= 7
    assert sum(1 for op in events if "revive" in op and op["revive"] not in (None, "null")) >= 3
    assert any(op["event"].get("dwell") == 2**63 - 1 for op in events)  # sums past 64 bits
    assert any(len(op["event"]["id"]) != len(op["event"]["id"].encode()) for op in events)
