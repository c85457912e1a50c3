"""The backfill equals the reference on the real replays, and the lookup on a heavy user.

Every feature of the catalogue (``FEATURE_NAMES``, never a hard-coded list) is compared exactly at
seeded label times, most of them on or next to tile boundaries of every window.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from tests.backfill_kit import Oracle, Tally, compare_rows, label_times, labels_table
from tests.cases import DATA_DIR
from tests.unit.test_merge_reference import store
from userpulse.backfill import backfill
from userpulse.backfill.columns import events_table
from userpulse.events import Event, EventType
from userpulse.features import (
    DISTINCT_SKETCH_K,
    FEATURE_NAMES,
    WINDOWS,
)
from userpulse.lookup.merge import Status, features_for
from userpulse.producers.replay import load_dataset

NOW_MS = 1_800_000_000_000  # 2027-01-15: the run's clock (no event is "in the future")


def _sample_users(events: list[Event], users: int, seed: int) -> list[Event]:
    """The events of ``users`` seeded random users plus the most active user."""
    by_user: dict[str, int] = {}
    for e in events:
        by_user[e.user_id] = by_user.get(e.user_id, 0) + 1
    top = max(by_user, key=lambda u: by_user[u])
    pool = sorted(set(by_user) - {top})
    keep = {top, *random.Random(seed).sample(pool, min(users, len(pool)))}
    return [e for e in events if e.user_id in keep]


@pytest.mark.parametrize(
    ("name", "users", "labels"),
    [("ebnerd", 60, 1_500), ("globo", 400, 3_000), ("otto", 1_000, 3_000)],
)
def test_replay_matches_reference(name: str, users: int, labels: int) -> None:
    events = _sample_users(load_dataset(name, DATA_DIR), users, seed=15)
    lab = label_times(events, labels, seed=15) + [("nobody", events[0].event_time_ms)]
    # the whole history goes in; only the sampled users are labelled
    res = backfill(events_table(load_dataset(name, DATA_DIR)), labels_table(lab), now_ms=NOW_MS)
    assert res.rejected == {}
    assert res.users_not_found == 1
    rows = res.table.to_pylist()
    assert [r["row"] for r in rows] == list(range(len(lab)))  # labels kept as they are, in order
    tally = compare_rows(rows, Oracle(events), {e.user_id for e in events})
    assert tally.mismatches == 0, tally.bad
    assert tally.compared == len(lab) * len(FEATURE_NAMES)
    assert tally.nonzero > 5 * len(lab), tally
    on_boundary = sum(any(t % w.tile_ms == 0 for w in WINDOWS) for _, t in lab)
    assert on_boundary > len(lab) // 10


def _heavy_user(seed: int) -> list[Event]:
    """Three users over 3 hours, one with ~1,500 distinct items: sketches past k in 1 h and 24 h."""
    rng = random.Random(seed)
    t0 = 1_717_243_200_000
    out = []
    for i in range(2_000):
        user = rng.choice(["heavy", "heavy", "heavy", "light", "mid"])
        typ = rng.choice(list(EventType))
        kw: dict[str, object] = {}
        if typ is EventType.HOVER:
            kw["dwell_ms"] = rng.randint(0, 30_000)
        elif typ is EventType.SCROLL:
            kw["scroll_depth"] = rng.choice([0.0, 0.1, 0.333, 0.5, 1.0])
        items = 2_000 if user == "heavy" else 40
        item = None if rng.random() < 0.1 else f"a{rng.randrange(items)}"
        t = t0 + rng.randint(0, 3 * 3_600_000)
        out.append(Event(f"e{i:05d}", typ, user, t, "s", item_id=item, **kw))  # type: ignore[arg-type]
    return out


def test_heavy_user_matches_the_lookup_and_the_sketch_estimate() -> None:
    events = _heavy_user(seed=4)
    lab = label_times(events, 150, seed=4)
    res = backfill(events_table(events), labels_table(lab), now_ms=NOW_MS)
    rows = res.table.to_pylist()
    oracle = Oracle(events)
    assert compare_rows(rows, oracle, {"heavy", "light", "mid"}).mismatches == 0
    assert oracle.estimated > 30  # the estimate regime was exercised
    # the lookup itself, on the tiles and profile the job writes for these events
    stored = {u: store([e for e in events if e.user_id == u]) for u in ("heavy", "light", "mid")}
    tally, estimates = Tally(), 0
    for r in rows:
        got = features_for(list(FEATURE_NAMES), r["as_of_ms"], *stored[r["user_id"]])
        for name in FEATURE_NAMES:
            if got[name].status is Status.OUT_OF_RETENTION:
                continue  # the lookup cannot answer some profile features before the newest event
            tally.add((r["user_id"], r["as_of_ms"]), name, r[name], got[name].value)
            estimates += name.startswith("distinct") and (r[name] or 0) > DISTINCT_SKETCH_K
    assert tally.mismatches == 0, tally.bad
    assert tally.compared > 0.8 * len(rows) * len(FEATURE_NAMES)
    assert estimates > 30


def test_unknown_users_and_times_before_the_first_event() -> None:
    e = Event("a", EventType.HOVER, "u1", 1_717_243_200_500, "s", item_id="x", dwell_ms=7)
    lab = pa.table(
        {"user_id": ["u1", "u1", "ghost"], "as_of_ms": [1_717_243_199_999, e.event_time_ms, 5]}
    )
    rows = backfill(events_table([e]), lab, now_ms=NOW_MS).table.to_pylist()
    before, at, ghost = rows
    assert before["count_hover_1m"] == 0 and before["max_dwell_hover_1m"] is None
    assert before["last_items_hover"] == [] and before["first_seen"] is None
    assert before["count_hover_lifetime"] == 0 and before["first_seen_status"] == "present"
    assert at["count_hover_1m"] == 1 and at["mean_dwell_hover_1m"] == 7.0
    assert at["last_items_hover"] == [{"item_id": "x", "event_time_ms": e.event_time_ms}]
    assert at["session_events"] == 1 and at["session_duration"] == 0
    assert all(ghost[n] is None and ghost[f"{n}_status"] == "not_found" for n in FEATURE_NAMES)
