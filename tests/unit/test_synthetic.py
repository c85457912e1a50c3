"""Unit tests of the seeded synthetic traffic generator (no broker)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from tests import REPO_ROOT
from userpulse.events import EventType, validation_error
from userpulse.producers.synthetic import SESSION_GAP_MS, EventMix, SyntheticTraffic
from userpulse.schemas import codec

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
N = 50_000


@pytest.fixture(scope="module")
def sample() -> list:
    return list(SyntheticTraffic(7, users=10_000, start_time_ms=START_MS).events(1_000, N))


DIGEST_CODE = """
import hashlib, time
from userpulse.producers.synthetic import SyntheticTraffic
from userpulse.schemas import codec

def digest(seed, n, start_ms):
    h = hashlib.sha256()
    for e in SyntheticTraffic(seed, users=500, start_time_ms=start_ms).events(250.0, n):
        h.update(codec.encode(e))
    return h.hexdigest()
"""


def _digest(seed: int, n: int) -> str:
    scope: dict = {}
    exec(DIGEST_CODE, scope)
    return scope["digest"](seed, n, START_MS)


def test_same_seed_gives_identical_bytes() -> None:
    a = [codec.encode(e) for e in SyntheticTraffic(3, start_time_ms=START_MS).events(500, 5_000)]
    b = [codec.encode(e) for e in SyntheticTraffic(3, start_time_ms=START_MS).events(500, 5_000)]
    c = [codec.encode(e) for e in SyntheticTraffic(4, start_time_ms=START_MS).events(500, 5_000)]
    assert a == b
    assert a != c


def test_event_ids_come_from_seed_and_counter(sample: list) -> None:
    assert [e.event_id for e in sample[:3]] == ["syn-7-0", "syn-7-1", "syn-7-2"]
    assert len({e.event_id for e in sample}) == N


def test_event_time_follows_the_rate(sample: list) -> None:
    times = [e.event_time_ms for e in sample]
    assert times[0] == START_MS
    assert times == sorted(times)
    assert times[-1] == START_MS + int((N - 1) * 1000 / 1_000)
    # 250 events/s -> 4 ms apart
    quarter = list(SyntheticTraffic(1, start_time_ms=START_MS).events(250, 5))
    assert [e.event_time_ms - START_MS for e in quarter] == [0, 4, 8, 12, 16]


def test_top_one_percent_of_users_dominate(sample: list) -> None:
    per_user = Counter(e.user_id for e in sample)
    top = sum(n for _, n in per_user.most_common(100))  # 1% of 10,000 users
    assert top / N > 0.2  # Zipf 1.1: far more than 1%
    uniform = list(
        SyntheticTraffic(7, users=10_000, zipf_s=0.0, start_time_ms=START_MS).events(1_000, N)
    )
    top_uniform = sum(n for _, n in Counter(e.user_id for e in uniform).most_common(100))
    assert top_uniform / N < 0.05


def test_default_mix_within_tolerance(sample: list) -> None:
    counts = Counter(e.event_type for e in sample)
    assert abs(counts[EventType.CLICK] / N - 0.2) < 0.01
    assert abs(counts[EventType.SCROLL] / N - 0.3) < 0.01
    assert abs(counts[EventType.HOVER] / N - 0.5) < 0.01


def test_custom_mix() -> None:
    mix = EventMix.parse("click=1,hover=3")
    events = list(SyntheticTraffic(2, mix=mix, start_time_ms=START_MS).events(1_000, 20_000))
    counts = Counter(e.event_type for e in events)
    assert counts[EventType.SCROLL] == 0
    assert abs(counts[EventType.CLICK] / 20_000 - 0.25) < 0.015
    with pytest.raises(ValueError, match="unknown event type"):
        EventMix.parse("clicks=1")
    with pytest.raises(ValueError, match="not all 0"):
        EventMix(0, 0, 0)


def test_all_events_are_valid(sample: list) -> None:
    now_ms = START_MS + N  # the job's clock just after the run
    assert [validation_error(e, now_ms) for e in sample] == [None] * N
    for e in sample:
        if e.event_type is EventType.CLICK:
            assert e.position is not None and e.position >= 0 and e.item_id
        assert 0 <= (e.row or 0) <= 19
        assert e.device in {"mobile", "desktop", "tablet"}


def test_value_distributions(sample: list) -> None:
    dwell = [e.dwell_ms for e in sample if e.event_type is EventType.HOVER]
    assert 1_100 <= statistics.median(dwell) <= 1_300  # log-normal, median 1.2 s
    depth = [e.scroll_depth for e in sample if e.event_type is EventType.SCROLL]
    assert all(0.0 <= d <= 1.0 for d in depth)
    assert 0.37 <= statistics.mean(depth) <= 0.43  # Beta(2, 3): mean 0.4


def test_sessions_split_on_30_minutes_of_inactivity() -> None:
    # 0.002 events/s over 30 users: gaps of hours and of minutes both occur
    events = list(SyntheticTraffic(5, users=30, start_time_ms=START_MS).events(0.002, 3_000))
    last: dict[str, tuple[int, str]] = {}
    splits = continues = 0
    for e in events:
        if e.user_id in last:
            t, sid = last[e.user_id]
            if e.event_time_ms - t > SESSION_GAP_MS:
                assert e.session_id != sid
                splits += 1
            else:
                assert e.session_id == sid
                continues += 1
        last[e.user_id] = (e.event_time_ms, e.session_id)
    assert splits > 50 and continues > 50


def test_think_times_spread_a_user_over_time(sample: list) -> None:
    by_user: dict[str, list[int]] = defaultdict(list)
    for e in sample:
        by_user[e.user_id].append(e.event_time_ms)
    gaps = sorted(b - a for ts in by_user.values() for a, b in zip(ts, ts[1:], strict=False))
    assert 500 <= gaps[len(gaps) // 2] <= 10_000  # median gap of a user: seconds, not ms


def test_time_zone_does_not_change_bytes() -> None:
    code = DIGEST_CODE + f"print(time.localtime(0).tm_gmtoff, digest(9, 3000, {START_MS}))"
    out = {}
    for tz in ("UTC", "Asia/Kolkata"):
        env = {**os.environ, "TZ": tz}
        res = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        out[tz] = res.stdout.split()
    assert out["UTC"][0] == "0" and out["Asia/Kolkata"][0] == "19800"  # the TZ did apply
    assert out["UTC"][1] == out["Asia/Kolkata"][1] == _digest(9, 3000)


def test_bad_arguments_fail_fast() -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        SyntheticTraffic(1).events(0)
    with pytest.raises(ValueError, match="users"):
        SyntheticTraffic(1, users=0)
    with pytest.raises(ValueError, match="zipf_s"):
        SyntheticTraffic(1, zipf_s=-1)
