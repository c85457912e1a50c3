"""Backfill inputs and outputs: the job's validation rules, CSV / Parquet files, the CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from userpulse.backfill import BackfillError, backfill
from userpulse.backfill.columns import events_table, from_table
from userpulse.backfill.sources import read_events
from userpulse.cli import app
from userpulse.events import Event, EventType, validation_error
from userpulse.features import FEATURE_NAMES

NOW_MS = 1_800_000_000_000
DAY_MS = 86_400_000  # the max_future_ms setting's default
T0 = 1_717_243_200_000


def _events() -> list[Event]:
    h, s, c = EventType.HOVER, EventType.SCROLL, EventType.CLICK
    return [
        Event("a", c, "007", T0, "s", item_id="i1"),
        Event("b", h, "007", T0 + 10, "s", item_id="i2", dwell_ms=40),
        Event("c", s, "007", T0 + 20, "s", scroll_depth=0.5),
        Event("d", h, "007", T0 + 30, "s", dwell_ms=-1),
        Event("e", h, "x", T0, "s"),
        Event("f", s, "x", T0, "s"),
        Event("g", s, "x", T0, "s", scroll_depth=float("nan")),
        Event("h", s, "x", T0, "s", scroll_depth=1.5),
        Event("i", s, "x", T0, "s", scroll_px=-3),
        Event("j", c, "", T0, "s"),
        Event("k", c, "é" * 65, T0, "s"),
        Event("l", c, "x", 1_717_243_200, "s"),  # seconds mistaken for ms
        Event("m", c, "x", NOW_MS + 86_400_001, "s"),
    ]


def test_validation_matches_the_job_rules() -> None:
    evs = _events()
    want = Counter(r.split(":")[0] for e in evs if (r := validation_error(e, NOW_MS)) is not None)
    ev = from_table(events_table(evs), NOW_MS, DAY_MS)
    got = Counter({k.split(" (")[0]: v for k, v in ev.rejected.items()})
    assert {k: got[k] for k in got} == {
        "dwell_ms invalid": want["dwell_ms invalid"],
        "scroll_depth missing": want["scroll_depth missing"],
        "scroll_depth invalid": want["scroll_depth invalid"],
        "scroll_px invalid": want["scroll_px invalid"],
        "user_id empty": want["user_id empty"],
        "user_id too long": want["user_id too long"],
        "event_time out of range": want["event_time out of range"],
    }
    assert len(ev) == len(evs) - sum(want.values()) == 3
    assert ev.user_ids.to_pylist() == ["007"]


def test_the_sane_range_is_the_max_future_ms_setting() -> None:
    ahead = Event("a", EventType.CLICK, "u", NOW_MS + 61_000, "s")
    assert validation_error(ahead, NOW_MS, 60_000) is not None
    assert from_table(events_table([ahead]), NOW_MS, 60_000).rejected == {
        "event_time out of range": 1
    }
    assert len(from_table(events_table([ahead]), NOW_MS, DAY_MS)) == 1  # control


def _write(tmp: Path) -> tuple[Path, Path]:
    events = tmp / "events.csv"
    pacsv.write_csv(events_table(_events()[:3]), events)
    labels = tmp / "labels.csv"
    labels.write_text(f"user_id,as_of_ms,clicked\n007,{T0},1\n007,{T0 + 25},0\nnobody,{T0},1\n")
    return events, labels


def test_cli_csv_in_csv_out_keeps_labels_as_they_are(tmp_path: Path) -> None:
    events, labels = _write(tmp_path)
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(
        app,
        [
            "features",
            "backfill",
            "--events",
            str(events),
            "--labels",
            str(labels),
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    t = pacsv.read_csv(
        out, convert_options=pacsv.ConvertOptions(column_types={"user_id": pa.string()})
    )
    rows = t.to_pylist()
    assert t.column_names[:3] == ["user_id", "as_of_ms", "clicked"]
    assert t.num_columns == 3 + 2 * len(FEATURE_NAMES)
    assert [r["user_id"] for r in rows] == ["007", "007", "nobody"]
    assert [r["count_click_1m"] for r in rows] == [1, 1, None]
    assert rows[1]["max_depth_scroll_5m"] == 0.5 and rows[1]["mean_dwell_hover_1h"] == 40.0
    assert json.loads(rows[1]["last_items_hover"]) == [{"item_id": "i2", "event_time_ms": T0 + 10}]
    assert rows[2]["count_click_1m_status"] == "not_found"


def test_cli_feature_subset_to_parquet_and_errors(tmp_path: Path) -> None:
    events, labels = _write(tmp_path)
    out = tmp_path / "out.parquet"
    args = ["features", "backfill", "--events", str(events), "--labels", str(labels), "--quiet"]
    res = CliRunner().invoke(app, [*args, "--out", str(out), "-f", "count_click_1m,session_events"])
    assert res.exit_code == 0, res.output
    t = pq.read_table(out)
    assert t.column_names == [
        "user_id", "as_of_ms", "clicked", "count_click_1m", "count_click_1m_status",
        "session_events", "session_events_status",
    ]  # fmt: skip
    # as of T0 the events before the end of T0's second count (design section 4)
    assert t.column("session_events").to_pylist() == [3, 3, None]
    bad = CliRunner().invoke(app, [*args, "--out", str(out), "-f", "count_click_2m"])
    assert bad.exit_code == 2 and "unknown features" in bad.output


def test_bad_inputs_are_named() -> None:
    good = events_table(_events()[:1])
    with pytest.raises(BackfillError, match="as_of_ms"):
        backfill(good, pa.table({"user_id": ["007"]}), now_ms=NOW_MS)
    with pytest.raises(BackfillError, match="event_time_ms"):
        backfill(good.drop(["event_time_ms"]), pa.table({"user_id": ["a"], "as_of_ms": [1]}))
    with pytest.raises(BackfillError, match="already have"):
        backfill(good, pa.table({"user_id": ["a"], "as_of_ms": [1], "first_seen": [1]}))
    with pytest.raises(BackfillError, match="unknown dataset"):
        read_events("replay:nope")


def test_events_are_sorted_by_user_time_and_event_id() -> None:
    import random

    rng = random.Random(3)
    evs = [
        Event(f"e{rng.randrange(10**6):06d}", EventType.CLICK, f"u{rng.randrange(7)}",
              T0 + rng.randrange(5) * 86_400_000 * 30, "s", item_id=f"i{i}")
        for i in range(400)
    ]  # fmt: skip
    rng.shuffle(evs)
    ev = from_table(events_table(evs), NOW_MS, DAY_MS)
    want = sorted(evs, key=lambda e: (ev.user_ids.to_pylist().index(e.user_id),
                                      e.event_time_ms, e.event_id))  # fmt: skip
    assert ev.time_ms.tolist() == [e.event_time_ms for e in want]
    assert ev.item_id.to_pylist() == [e.item_id for e in want]
    assert ev.user_start.tolist()[-1] == len(evs) and ev.rejected == {}
