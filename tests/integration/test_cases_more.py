"""More cases from ../shared/cases/cases.json through the real job and the lookup client.

H03 (event times in the wrong unit or out of range go to the dead-letter topic; no tile in 1970
or the far future), H12 (tombstones and empty values) and H18 (state stays bounded with very many
users: the checkpoint shrinks back once the watermark has passed their retention).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from tests.cases import case_events, load_cases
from tests.integration.jobkit import (
    assert_case_features,
    drop_topics,
    flush_redis,
    job_settings,
    read_topic,
    run_bounded,
    unbounded_job,
)
from userpulse import layout
from userpulse.events import Event, EventType
from userpulse.lookup import FeatureClient
from userpulse.producers.kafka_out import EventSink
from userpulse.schemas.codec import CURRENT, encode
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
CASES = load_cases()
T0 = 1717243200000


def test_h03_wrong_unit_and_out_of_range_times_are_dead_lettered(stack: Settings) -> None:
    s = job_settings(stack)
    r = flush_redis(s)
    (valid,) = case_events(CASES["H03"])
    now = int(time.time() * 1000)
    bad_times = [1717243205, 1717243205000000, -1, now + 2 * 86_400_000]
    try:
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.send(valid)
            for i, t in enumerate(bad_times):
                sink.send(valid.replace(event_id=f"bad{i}", event_time_ms=t))
            sink.flush(30)
        assert run_bounded(s) == {"dead_lettered": 4, "late": 0}
        dlq = read_topic(s, s.dead_letter_topic)
        assert sorted(d["offset"] for d in dlq) == [1, 2, 3, 4]
        assert all(d["reason"].startswith("event_time out of range") for d in dlq)
        assert_case_features(s, CASES["H03"])
        # no tile outside [2000-01-01, now + 1 day] was ever written
        fields = [f.decode() for f in r.hgetall(layout.user_key("u1"))]
        for f in fields:
            kind, g, k = layout.parse_field(f)
            if kind == "t":
                assert 946_684_800_000 <= k * g <= now + 86_400_000, f
        assert len(fields) > 1
    finally:
        drop_topics(s)


def test_h12_tombstones_and_empty_values(stack: Settings) -> None:
    s = job_settings(stack)
    flush_redis(s)
    (valid,) = case_events(CASES["H12"])
    header = encode(valid)[:10]  # C3 01 + 8-byte fingerprint, no body
    assert header[:2] == b"\xc3\x01" and header[2:] == CURRENT.fingerprint
    try:
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.send_raw(b"u1", None)  # tombstone: skipped, counted as such
            sink.send_raw(b"u1", b"")
            sink.send_raw(b"u1", b"\x00")
            sink.send_raw(b"u1", header)
            sink.send(valid)
            sink.flush(30)
        assert run_bounded(s) == {"dead_lettered": 3, "late": 0}
        dlq = read_topic(s, s.dead_letter_topic)
        assert sorted(d["offset"] for d in dlq) == [1, 2, 3]
        assert_case_features(s, CASES["H12"])
    finally:
        drop_topics(s)


def _latest_checkpoint(root: Path) -> tuple[int, int]:
    """(number, bytes) of the newest completed checkpoint under ``root`` (0, 0 when none)."""
    best = (0, 0)
    for meta in root.glob("*/chk-*/_metadata"):
        n = int(meta.parent.name.split("-")[1])
        if n > best[0]:
            size = sum(p.stat().st_size for p in meta.parent.rglob("*") if p.is_file())
            best = (n, size)
    return best


def _next_checkpoint(root: Path, after: int, timeout_s: float = 120) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        n, size = _latest_checkpoint(root)
        if n > after:
            return size
        time.sleep(0.5)
    raise AssertionError(f"no checkpoint after chk-{after} within {timeout_s}s")


def _wait_readable(client: FeatureClient, user: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.get(user, ["last_seen"])["last_seen"].value is not None:
            return
        time.sleep(0.5)
    raise AssertionError(f"{user} not readable within {timeout_s}s")


def test_h18_state_stays_bounded_with_very_many_users(stack: Settings) -> None:
    """Unbounded job with checkpoints every 2 s; 100,000 one-shot users, then the tick."""
    n_users = 100_000
    s = job_settings(stack, checkpoint_interval_ms=2_000)
    flush_redis(s)
    assert s.checkpoint_dir is not None
    root = s.checkpoint_dir
    client = FeatureClient.from_settings(s)
    users = [str(uuid.UUID(int=i + 1)) for i in range(n_users)]
    try:
        with unbounded_job(s, USERPULSE_CHECKPOINT_INTERVAL_MS="2000"):
            with EventSink(s.kafka_bootstrap, s.topic) as sink:
                sink.send(Event("warm", EventType.CLICK, "warm", T0, "s"))
                sink.flush(10)
                _wait_readable(client, "warm", 180)
                before = _next_checkpoint(root, _latest_checkpoint(root)[0])
                for i, u in enumerate(users):
                    sink.send(Event(f"o{i}", EventType.CLICK, u, T0 + 1_000, "s"))
                sink.flush(60)
                _wait_readable(client, users[-1])
                peak = _next_checkpoint(root, _latest_checkpoint(root)[0])
                counted = 0
                batch = s.lookup_max_batch_users  # the client refuses larger batches
                for i in range(0, n_users, batch):
                    chunk = users[i : i + batch]
                    got = client.get_many(chunk, ["count_click_1m"], as_of=T0 + 59_999)
                    counted += sum(1 for v in got.values() if v["count_click_1m"].value == 1)
                assert counted == n_users
                (tick,) = case_events(CASES["H18"])
                sink.send(tick)
                sink.flush(10)
                _wait_readable(client, "tick")
            assert_case_features(s, CASES["H18"])
            # cleanup timers fire as the watermark passes; wait for the checkpoint to shrink
            after = peak
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and after > 1.1 * before:
                after = _next_checkpoint(root, _latest_checkpoint(root)[0])
        print(f"H18 checkpoint bytes: before {before}, with 100k users {peak}, after {after}")
        assert peak > 20 * before, (before, peak)
        assert after <= 1.1 * before, (before, peak, after)
        assert read_topic(s, s.late_topic) == [] and read_topic(s, s.dead_letter_topic) == []
    finally:
        drop_topics(s)


def test_user_coming_back_after_state_was_freed_continues_the_profile(stack: Settings) -> None:
    """User a is quiet for longer than the state retention while b moves the watermark on: the
    job frees a's state (and prunes a's tiles in Redis), then revives a from the stored profile
    when a comes back. Unbounded job: the watermark must move before a's return."""
    s = job_settings(stack)
    admin = flush_redis(s)
    hour = 3_600_000
    client = FeatureClient.from_settings(s)
    try:
        with unbounded_job(s), EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.send(Event("a0", EventType.CLICK, "a", T0, "s", item_id="i1"))
            for h in range(1, 28):
                sink.send(Event(f"b{h}", EventType.CLICK, "b", T0 + h * hour, "s"))
            sink.flush(30)
            # a's state is freed when its last tile (24 min) leaves retention: the prune mark
            pruned = layout.pruned_field(1_440_000).encode()
            deadline = time.monotonic() + 180
            while admin.hget(layout.user_key("a"), pruned) is None:
                assert time.monotonic() < deadline, "a's state was never freed"
                time.sleep(0.5)
            sink.send(Event("a1", EventType.CLICK, "a", T0 + 27 * hour + 1, "s", item_id="i2"))
            sink.flush(30)
            while client.get("a", ["count_click_lifetime"])["count_click_lifetime"].value != 2:
                assert time.monotonic() < deadline, "a's return was not counted"
                time.sleep(0.5)
        doc = json.loads(layout.decode_profile(admin.get(layout.profile_key("a")))[1])
        assert doc["rev"] == "a1" and doc["base"]["c"] == {"CLICK": 1}, doc
        got = client.get("a", as_of=T0 + 27 * hour + 1)
        assert got["count_click_lifetime"].value == 2
        assert got["first_seen"].value == T0
        assert [x["item_id"] for x in got["last_items_click"].value] == ["i2", "i1"]
        assert got["count_click_24h"].value == 1
        # the first visit's tiles are gone: a window over it says so instead of 0
        old = client.get("a", ["count_click_1h"], as_of=T0 + 1_000)["count_click_1h"]
        assert old.status.value == "out_of_retention"
    finally:
        drop_topics(s)
