"""The pure path (tiles + profile -> layout encoding -> lookup merge) equals the reference.

Hypothesis draws event sequences of one user with arrival disorder; they are folded exactly as the
job folds them (``tilestate.fold_event``, ``profile.fold``), encoded with the Redis layout, merged
by ``userpulse.lookup.merge`` and compared with ``userpulse.reference`` at many as-of times.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_tilestate import DictTiles
from userpulse import layout, profile
from userpulse.compare import same
from userpulse.events import Event, EventType
from userpulse.features import FEATURE_NAMES, LAST_K, SESSION_GAP_MS, STATE_FEATURES_BY_NAME
from userpulse.lookup.merge import Status, features_for
from userpulse.reference import Reference
from userpulse.tilestate import Head, Retention, all_tiles, fold_event

T0 = 1717243200000


@st.composite
def events(draw: st.DrawFn) -> list[Event]:
    n = draw(st.integers(1, 60))
    out = []
    for i in range(n):
        t = T0 + draw(st.integers(0, 3 * 3_600_000))
        typ = draw(st.sampled_from(list(EventType)))
        item = draw(st.one_of(st.none(), st.sampled_from([f"i{j}" for j in range(30)])))
        kw: dict[str, object] = {}
        if typ is EventType.HOVER:
            kw["dwell_ms"] = draw(st.integers(0, 20_000))
        elif typ is EventType.SCROLL:
            kw["scroll_depth"] = draw(st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]))
        out.append(Event(f"e{i:03d}", typ, "u", t, "s", item_id=item, **kw))  # type: ignore[arg-type]
    return out


def store(evs: list[Event]) -> tuple[dict[bytes, bytes], str]:
    """What the job would have written for these events (no expiry): tile hash, profile value."""
    head, older, ret = Head(), DictTiles(), Retention(600_000)
    for e in evs:
        fold_event(head, older, e, ret)
        profile.fold(head.profile, e, -(2**62), 600_000)
    h = {
        layout.tile_field(g, k).encode(): layout.encode_tile(v).encode()
        for g, k, v in all_tiles(head, older)
    }
    h[b"ls"] = str(max(e.event_time_ms for e in evs)).encode()
    p = head.profile
    return h, layout.encode_profile(p.version, p.record_json())


@settings(max_examples=150, deadline=None)
@given(events(), st.lists(st.integers(-120_000, 4 * 3_600_000), min_size=1, max_size=6))
def test_merge_of_stored_state_equals_reference(evs: list[Event], offsets: list[int]) -> None:
    h, prof = store(evs)
    ref = Reference(evs)
    newest = max(e.event_time_ms for e in evs)
    for t in [T0 + o for o in offsets] + [newest, newest + SESSION_GAP_MS]:
        got = features_for(list(FEATURE_NAMES), t, h, prof)
        want = ref.features("u", t)
        for name in FEATURE_NAMES:
            g = got[name]
            if g.status is Status.OUT_OF_RETENTION:
                # only state features as of a time before the newest event may be unanswerable
                assert name in STATE_FEATURES_BY_NAME and (t // 1000 + 1) * 1000 <= newest, name
                continue
            assert g.status is Status.PRESENT
            assert same(name, g.value, want[name]), (name, t, g.value, want[name])


def test_revive_after_restore_does_not_count_twice() -> None:
    a = Event("a", EventType.CLICK, "u", T0, "s", item_id="i1")
    b = Event("b", EventType.CLICK, "u", T0 + 1_000, "s", item_id="i2")
    c = Event("c", EventType.CLICK, "u", T0 + 2_000, "s")
    first = profile.revive(None, a)
    for e in (a, b):
        profile.fold(first, e, T0, 600_000)
    stored = first.record()  # written before the state was freed
    # the user comes back: a new revival continues the stored record
    p = profile.revive(stored, c)
    profile.fold(p, c, T0, 600_000)
    assert p.counts == {"CLICK": 3} and p.version == 3 and p.first_seen == T0
    written = json.loads(p.record_json())
    # a crash, a restore from a checkpoint before c, and the replay of c: no double count
    again = profile.revive(written, c)
    profile.fold(again, c, T0, 600_000)
    assert again.counts == {"CLICK": 3} and again.version == 3
    assert [x[2] for x in again.last_k["CLICK"]] == ["i2", "i1"]


def test_late_event_merges_two_sessions_and_last_k_keeps_k_newest() -> None:
    p = profile.Profile()
    gap = SESSION_GAP_MS
    for i, t in enumerate([T0, T0 + gap - 1, T0 + 2 * gap + 5, T0 + 2 * gap - 3]):
        profile.fold(p, Event(f"e{i}", EventType.HOVER, "u", t, "s", dwell_ms=1), T0, 600_000)
    # T0 + 2*gap - 3 is less than a gap after T0 + gap - 1 and before T0 + 2*gap + 5: one session
    assert p.sessions == [[T0, T0 + 2 * gap + 5, 4]]
    for i in range(LAST_K + 5):
        e = Event(f"c{i:02d}", EventType.CLICK, "u", T0 + i, "s", item_id=f"i{i}")
        profile.fold(p, e, T0, 600_000)
    items = [x[2] for x in p.last_k["CLICK"]]
    assert items == [f"i{i}" for i in range(LAST_K + 4, 4, -1)]
