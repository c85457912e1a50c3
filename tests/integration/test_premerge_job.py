"""The real feature job keeps the pre-merged windows (fields ``m``, ``w:<window_ms>``,
docs/key-layout.md): lookups answered from them equal the full merge and the reference; past a
window's ``valid_until`` lookups take the full path and still equal it; the job's refresh timer
then rewrites the fields as of a later time, and lookups are answered from them again."""

from __future__ import annotations

import time

import pytest

from tests.integration.jobkit import drop_topics, flush_redis, job_settings, unbounded_job
from userpulse import layout
from userpulse.compare import same
from userpulse.events import Event, EventType
from userpulse.features import FEATURE_NAMES
from userpulse.lookup import FeatureClient
from userpulse.lookup.premerged import FastPath
from userpulse.lookup.results import Status
from userpulse.producers.kafka_out import EventSink
from userpulse.reference import Reference
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
USERS = [f"pm{i}" for i in range(4)]


def _events(sent_ms: int) -> list[Event]:
    """Per user: a click 50 s and a hover 10 s before ``sent_ms`` (same item)."""
    out = []
    for u in USERS:
        out.append(Event(f"{u}-a", EventType.CLICK, u, sent_ms - 50_000, "s", item_id="i1"))
        out.append(
            Event(f"{u}-b", EventType.HOVER, u, sent_ms - 10_000, "s", item_id="i1", dwell_ms=300)
        )
    return out


def _premerged(r, user: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """``(T, valid_until of the 1 min window)`` stored for ``user`` (0, 0 when none yet)."""
    m, w = r.hmget(layout.user_key(user), [layout.META_PREMERGED, layout.premerged_field(60_000)])
    if m is None or w is None:
        return 0, 0
    until = layout.split_window(w)[0]
    return layout.decode_premerged_meta(m)[1], until or 0


def _check(fast: FeatureClient, full: FeatureClient, ref: Reference, t: int) -> None:
    got = fast.get_many(USERS, as_of=t)
    assert got == full.get_many(USERS, as_of=t), t
    for u in USERS:
        want = ref.features(u, t)
        for name in FEATURE_NAMES:
            assert got[u][name].status is Status.PRESENT, (u, name, t)
            assert same(name, got[u][name].value, want[name]), (u, name, t)


def _wait(cond, timeout_s: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not (got := cond()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return got


def test_job_keeps_premerged_windows_exact_and_refreshes_them(stack: Settings) -> None:
    s = job_settings(stack)
    r = flush_redis(s)
    try:
        with unbounded_job(s, USERPULSE_PREMERGE_REFRESH_MS="1000"):  # off by default
            with EventSink(s.kafka_bootstrap, s.topic) as sink:  # wait until the job writes
                sink.send(Event("w", EventType.CLICK, "warm", int(time.time() * 1000), "s"))
                sink.flush(30)
            _wait(lambda: r.exists(layout.user_key("warm")), 180)
            sent = int(time.time() * 1000)
            events = _events(sent)
            with EventSink(s.kafka_bootstrap, s.topic) as sink:
                for e in events:
                    sink.send(e)
                sink.flush(30)
            ref = Reference(events)
            fast, full = FeatureClient.from_settings(s), FeatureClient.from_settings(s)
            full.fast_path = FastPath(enabled=False)
            # written with the tiles: T at the job's write, the 1 min window held until the
            # click's 1 s tile leaves it
            first = _wait(
                lambda: all(_premerged(r, u)[0] for u in USERS) and _premerged(r, "pm0"), 60
            )
            click_exit = (sent - 50_000) // 1000 * 1000 + 60_000
            assert first[1] == click_exit
            # past every window's valid_until (an explicit later time): the full path, same values
            _check(fast, full, ref, sent + 400_000)
            assert fast.fast_path.stats() == {"hits": 0, "misses": len(USERS)}
            # the refresh timer rewrites the fields as of a time at or after valid_until
            refreshed = _wait(
                lambda: (
                    all(_premerged(r, u)[0] >= click_exit for u in USERS) and _premerged(r, "pm0")
                ),
                60,
            )
            assert refreshed[1] == (sent - 10_000) // 1000 * 1000 + 60_000  # now the hover's
            # each user's refresh has its own T (the timers straddle milliseconds): as of the
            # latest, every user's values hold
            _check(fast, full, ref, max(_premerged(r, u)[0] for u in USERS))
            assert fast.fast_path.stats() == {"hits": len(USERS), "misses": len(USERS)}
            raw = r.hget(layout.user_key("pm0"), layout.premerged_field(60_000))
            assert raw.split(b";")[1:5] == [b"1", b"0", b"0", b"1"]  # n, clicks, scrolls, hovers
    finally:
        drop_topics(s)
