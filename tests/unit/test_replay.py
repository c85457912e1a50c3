"""Unit tests of the recorded-log mapping (reads /work/shared/data/real in place; no broker).

The EB-NeRD reference is rebuilt here independently with pandas (explode, vectorised rounding)
and compared with :func:`userpulse.producers.replay.load_dataset` event by event.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests import REPO_ROOT
from tests.cases import DATA_DIR
from userpulse.events import Event, EventType, validation_error
from userpulse.producers.pacing import schedule
from userpulse.producers.replay import (
    Dataset,
    DatasetError,
    epoch_ms,
    load_dataset,
    read_dataset,
)

DATA = DATA_DIR
pytestmark = pytest.mark.skipif(
    not (DATA / "ebnerd-sample").is_dir(), reason=f"recorded logs not found under {DATA}"
)

Row = tuple[str, str, int, str | None, int | None, float | None]
"""(user_id, type, event_time_ms, item_id, dwell_ms, scroll_depth)"""


def _ms(ts: pd.Series) -> list[int]:
    """Naive timestamps read as UTC -> epoch ms: the production conversion (the mapping rules
    below are re-derived independently; the unit arithmetic is not worth a second copy)."""
    return epoch_ms(pa.Array.from_pandas(ts))


def _ebnerd_reference() -> list[Row]:
    root = DATA / "ebnerd-sample"
    b = pd.read_parquet(root / "behaviors.parquet")
    b["t"] = _ms(b["impression_time"])
    b["n_inview"] = b["article_ids_inview"].map(len)
    b["dwell"] = np.round(b["read_time"].astype("float64") * 1000 / b["n_inview"]).astype("int64")
    rows: list[Row] = []
    hov = b.explode("article_ids_inview")
    rows += [
        (str(u), "HOVER", int(t), str(a), int(d), None)
        for u, t, a, d in zip(hov.user_id, hov.t, hov.article_ids_inview, hov.dwell, strict=True)
    ]
    clk = b.explode("article_ids_clicked")
    rows += [
        (str(u), "CLICK", int(t), str(a), None, None)
        for u, t, a in zip(clk.user_id, clk.t, clk.article_ids_clicked, strict=True)
    ]
    scr = b[b["scroll_percentage"].notna()]
    rows += [
        (str(u), "SCROLL", int(t), None if pd.isna(a) else str(int(a)), None, float(p) / 100)
        for u, t, a, p in zip(
            scr.user_id, scr.t, scr.article_id, scr.scroll_percentage, strict=True
        )
    ]
    lists = [
        "impression_time_fixed",
        "scroll_percentage_fixed",
        "article_id_fixed",
        "read_time_fixed",
    ]
    h = pd.read_parquet(root / "history.parquet").explode(lists)
    h["t"] = _ms(pd.to_datetime(h["impression_time_fixed"]))
    h["pct"] = h["scroll_percentage_fixed"].astype("float64")
    h["dwell"] = np.round(h["read_time_fixed"].astype("float64") * 1000).astype("int64")
    for u, t, a, p, d in zip(h.user_id, h.t, h.article_id_fixed, h.pct, h.dwell, strict=True):
        rows.append((str(u), "CLICK", int(t), str(a), None, None))
        rows.append((str(u), "HOVER", int(t), str(a), int(d), None))
        if not np.isnan(p):
            rows.append((str(u), "SCROLL", int(t), str(a), None, p / 100))
    return rows


def _row(e: Event) -> Row:
    return (
        e.user_id,
        e.event_type.value,
        e.event_time_ms,
        e.item_id,
        e.dwell_ms,
        e.scroll_depth,
    )


_CACHE: dict[str, Dataset] = {}


def _dataset(name: str) -> Dataset:
    if name not in _CACHE:
        _CACHE[name] = read_dataset(name, DATA)
    return _CACHE[name]


@pytest.fixture(scope="module")
def ebnerd() -> list[Event]:
    return _dataset("ebnerd").events


def test_ebnerd_matches_independent_pandas_reference(ebnerd: list[Event]) -> None:
    ref = _ebnerd_reference()
    assert Counter(r[1] for r in ref) == {"HOVER": 19_151, "CLICK": 9_350, "SCROLL": 7_301}
    assert Counter(e.event_type.value for e in ebnerd) == Counter(r[1] for r in ref)

    def key(r: Row) -> tuple:
        return tuple("" if v is None else str(v) for v in r)

    assert sorted(map(_row, ebnerd), key=key) == sorted(ref, key=key)


def test_ebnerd_context_fields(ebnerd: list[Event]) -> None:
    behaviors = [e for e in ebnerd if e.event_id.startswith("ebnerd:b")]
    history = [e for e in ebnerd if e.event_id.startswith("ebnerd:h")]
    assert len(behaviors) == 10_848 + 1_047 + 278
    assert len(history) == 8_303 * 2 + 7_023
    assert {e.device for e in behaviors} == {"desktop", "mobile", "tablet"}
    assert {e.surface for e in behaviors} == {"front_page", "article"}
    assert {e.device for e in history} == {None}
    assert len({e.session_id for e in behaviors}) == 485
    # history sessions: one per user and UTC day, prefixed "h"
    assert all(e.session_id.startswith(f"h{e.user_id}-") for e in history)
    assert len({e.user_id for e in ebnerd}) == 44


def test_ebnerd_impression_time_is_read_as_utc(ebnerd: list[Event]) -> None:
    # README: behaviors span 2023-02-23 07:45:40 -> 2023-03-02 06:28:54 (no zone; read as UTC)
    behaviors = [e.event_time_ms for e in ebnerd if e.event_id.startswith("ebnerd:b")]
    assert min(behaviors) == 1_677_138_340_000
    assert max(behaviors) == 1_677_738_534_000
    assert ebnerd[0].event_time_ms == 1_675_321_231_000  # history 2023-02-02T07:00:31Z


@pytest.mark.parametrize("name", ["ebnerd", "globo", "otto"])
def test_sorted_deterministic_unique_and_valid(name: str) -> None:
    events = _dataset(name).events
    again = load_dataset(name, DATA)
    assert events == again
    keys = [(e.event_time_ms, e.event_id) for e in events]
    assert keys == sorted(keys)
    assert len(set(e.event_id for e in events)) == len(events)
    now_ms = time.time_ns() // 1_000_000
    assert [e for e in events if validation_error(e, now_ms) is not None] == []


def test_globo_every_row_is_a_click() -> None:
    data = _dataset("globo")
    assert len(data.events) == 118_339
    assert data.counts() == {"CLICK": 118_339, "SCROLL": 0, "HOVER": 0}
    assert len(data.files) == 24
    assert len({e.user_id for e in data.events}) == 39_218
    assert len({e.item_id for e in data.events}) == 4_097
    assert len({e.session_id for e in data.events}) == 45_555
    assert {e.device for e in data.events} == {"1", "3", "4", "5"}
    assert data.events[0].event_time_ms == 1_506_826_800_026  # 2017-10-01 03:00:00.026 UTC
    assert data.events[-1].event_time_ms == 1_508_888_931_578  # 2017-10-24 23:48:51.578 UTC


def test_otto_clicks_kept_carts_and_orders_counted() -> None:
    data = _dataset("otto")
    assert data.counts() == {"CLICK": 800, "SCROLL": 0, "HOVER": 0}
    assert data.skipped == {"otto carts": 52, "otto orders": 10}
    assert len({e.user_id for e in data.events}) == 20
    assert all(e.session_id == e.user_id for e in data.events)


def test_unknown_or_missing_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("movielens", DATA)
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("otto", tmp_path)


def test_schedule_divides_gaps_by_speed_and_caps_them() -> None:
    base = Event("a", EventType.CLICK, "u", 1_000_000, "s")
    events = [
        base.replace(event_id=str(i), event_time_ms=1_000_000 + t)
        for i, t in enumerate([0, 1_000, 1_500, 601_500])
    ]
    assert [d for d, _ in schedule(events, None)] == [None] * 4
    assert [d for d, _ in schedule(events, float("inf"))] == [None] * 4
    assert [d for d, _ in schedule(events, 2.0, max_sleep_s=5.0)] == [0.0, 0.5, 0.75, 5.75]
    assert [d for d, _ in schedule(events, 1.0, max_sleep_s=1.0)] == [0.0, 1.0, 1.5, 2.5]
    with pytest.raises(ValueError, match="speed"):
        schedule(events, 0.0)


def test_time_zone_does_not_change_ebnerd(ebnerd: list[Event]) -> None:
    code = (
        "import hashlib; from userpulse.producers.replay import load_dataset; "
        "print(hashlib.sha256(repr(load_dataset('ebnerd', __import__('sys').argv[1]))"
        ".encode()).hexdigest())"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(DATA)],
        env={**os.environ, "TZ": "Asia/Kolkata"},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert res.stdout.strip() == hashlib.sha256(repr(ebnerd).encode()).hexdigest()
