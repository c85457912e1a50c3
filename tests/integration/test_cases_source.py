"""Cases H23-H26 of ../shared/cases/cases.json through the real job, Kafka and Redis.

H23 (records of aborted transactions are not events; a bounded run ends when a partition ends with
a transaction marker), H24 (an overlong varint is a bad record), H25 (a rejected record never
moves the watermark) and H26 (one fast clock cannot make everyone late; a metric counts it).
"""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from tests.cases import case_events, load_cases
from tests.integration import jobkit as kit
from tests.integration.clusterkit import free_ports
from userpulse.events import Event, EventType
from userpulse.lookup import FeatureClient
from userpulse.lookup.results import Status
from userpulse.producers.kafka_out import EventSink
from userpulse.schemas.codec import encode
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
CASES = load_cases()
PAUSE_S = 4.0  # the cases' pause between records: periodic watermarks move meanwhile


def _transaction(s: Settings, events: list[Event], commit: bool) -> None:
    p = Producer(
        {"bootstrap.servers": s.kafka_bootstrap, "transactional.id": "tx." + uuid.uuid4().hex}
    )
    p.init_transactions(30)
    p.begin_transaction()
    for e in events:
        p.produce(s.topic, encode(e), e.user_id.encode())
    p.flush(30)
    if commit:
        p.commit_transaction(30)
    else:
        p.abort_transaction(30)


def _count_uncommitted(s: Settings) -> int:
    """Data records of ``s.topic`` as a read_uncommitted consumer sees them."""
    c = Consumer(
        {
            "bootstrap.servers": s.kafka_bootstrap,
            "group.id": "raw." + uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_uncommitted",
            "enable.partition.eof": True,
        }
    )
    c.subscribe([s.topic])
    n, deadline = 0, time.monotonic() + 20
    while time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                break
            continue
        n += 1
    c.close()
    return n


def test_h23_aborted_transactions_are_not_events(stack: Settings) -> None:
    case = CASES["H23"]
    s = kit.job_settings(stack)
    kit.flush_redis(s)
    try:
        plain, aborted1, aborted2, committed = case_events(case)
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.send_raw(plain.user_id.encode(), encode(plain))
            sink.flush(30)
        _transaction(s, [aborted1, aborted2], commit=False)
        _transaction(s, [committed], commit=True)  # the partition now ends with a commit marker
        assert _count_uncommitted(s) == 4  # the aborted records are in the log
        summary = kit.run_bounded(s)  # must end: its end offset is the last stable offset
        assert summary == {"dead_lettered": case["expect"]["dead_lettered"], "late": 0}
        kit.assert_case_features(s, case)
        client = FeatureClient.from_settings(s)
        got = client.get("t-aborted", ["count_click_lifetime"])["count_click_lifetime"]
        assert got.status is Status.NOT_FOUND, got
        counted = [
            client.get(u, ["count_click_lifetime"])["count_click_lifetime"].value
            for u in ("t-plain", "t-committed")
        ]
        assert sum(counted) == case["expect"]["counted"]
    finally:
        kit.drop_topics(s)


def test_h24_overlong_varint_is_dead_lettered(stack: Settings) -> None:
    case = CASES["H24"]
    s = kit.job_settings(stack)
    kit.flush_redis(s)
    try:
        (click,) = case_events(case)
        t = click.event_time_ms
        hover = encode(Event("H24-h", EventType.HOVER, "u1", t, "s", dwell_ms=500))
        assert hover.count(b"\xe8\x07") == 1  # dwell 500
        bad = hover.replace(b"\xe8\x07", bytes.fromhex("e8878080808080808002"))  # bit 64 set
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.send_raw(b"u1", encode(click))
            sink.send_raw(b"u1", bad)
            sink.flush(30)
        assert kit.run_bounded(s) == {"dead_lettered": case["expect"]["dead_lettered"], "late": 0}
        kit.assert_case_features(s, case)
        (dl,) = kit.read_topic(s, s.dead_letter_topic)
        assert (dl["error_class"], dl["offset"]) == ("bad_avro", 1)
        assert "overlong long varint" in dl["reason"], dl
    finally:
        kit.drop_topics(s)


def _clock_case(
    stack: Settings, case_id: str, extra: Callable[[EventSink, int], None] | None
) -> tuple[Settings, int, list[dict[str, Any]], dict[str, int]]:
    """Run ``case_id`` on an unbounded job: its first event, ``extra`` records, then the rest,
    :data:`PAUSE_S` apart, times relative to the clock. Returns the settings, the job's
    ``userpulse_events_ahead_of_clock_total``, the late records and each user's event time."""
    case = CASES[case_id]
    (port,) = free_ports(1)
    s = kit.job_settings(stack)
    kit.flush_redis(s)
    client = FeatureClient.from_settings(s)
    offsets = {"clock - 30 s": -30_000, "clock - 2 s": -2_000, "clock + 23 h": 23 * 3_600_000}
    times: dict[str, int] = {}
    with kit.unbounded_job(s, USERPULSE_JOB_METRICS_PORT=str(port)):
        with EventSink(s.kafka_bootstrap, s.topic, **{"linger.ms": 0}) as sink:
            for i, spec in enumerate(case["events"]):
                now = int(time.time() * 1000)
                e = Event(f"{case_id}-{i}", EventType.CLICK, spec["user_id"], 0, "s")
                e = e.replace(event_time_ms=now + offsets[spec["event_time"]])
                sink.send_raw(e.user_id.encode(), encode(e))
                sink.flush(10)
                _wait_counted(client, e.user_id, e.event_time_ms)
                times[e.user_id] = e.event_time_ms
                if i == 0 and extra is not None:
                    extra(sink, int(time.time() * 1000))
                    time.sleep(PAUSE_S)
                elif i == 0:
                    time.sleep(PAUSE_S)
        late = kit.read_topic(s, s.late_topic)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    ahead = int(_sample(metrics.decode(), "userpulse_events_ahead_of_clock_total"))
    return s, ahead, late, times


def _wait_counted(client: FeatureClient, user: str, event_time_ms: int) -> None:
    """Until ``user``'s last_seen as of the event is ``event_time_ms`` (the job counted it)."""
    deadline = time.monotonic() + 180  # the first event waits for the job's start
    while time.monotonic() < deadline:
        got = client.get(user, ["last_seen"], as_of=event_time_ms)["last_seen"]
        if got.value == event_time_ms:
            return
        time.sleep(0.25)
    raise AssertionError(f"{user}'s event at {event_time_ms} was not counted")


def _sample(exposition: str, name: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exposed")


def test_h25_rejected_record_never_moves_the_watermark(stack: Settings) -> None:
    case = CASES["H25"]

    def bad_hover(sink: EventSink, now: int) -> None:
        e = Event("H25-bad", EventType.HOVER, "bad", now + 20 * 3_600_000, "s", dwell_ms=-5)
        sink.send_raw(b"bad", encode(e))
        sink.flush(10)

    s, ahead, late, times = _clock_case(stack, "H25", bad_hover)
    try:
        assert late == []
        dead = kit.read_topic(s, s.dead_letter_topic)
        assert [(d["error_class"], d["offset"]) for d in dead] == [("invalid_field", 1)]
        assert len(dead) == case["expect"]["dead_lettered"]
        kit.assert_case_features(s, {**case, "expect": {"features": _as_of_now(case, times)}})
        assert ahead == 0
    finally:
        kit.drop_topics(s)


def test_h26_fast_clock_cannot_make_everyone_late(stack: Settings) -> None:
    """H26: the fast click (clock + 23 h) is counted, the honest one is not late, the metric
    counts 1. The contract's point-in-time rule stands (design section 4): a lifetime count as of
    t counts the events up to the end of t's second, so the fast user's click counts 1 as of its
    own time and 0 as of now; the case's "as of now = 1" is answered as of the event's time."""
    case = CASES["H26"]
    s, ahead, late, times = _clock_case(stack, "H26", None)
    try:
        assert late == [] and case["expect"]["late"] == 0
        assert kit.read_topic(s, s.dead_letter_topic) == []
        kit.assert_case_features(s, {**case, "expect": {"features": _as_of_now(case, times)}})
        now = FeatureClient.from_settings(s).get("fast", ["count_click_lifetime"])
        assert (now["count_click_lifetime"].value, now["count_click_lifetime"].status) == (
            0,
            Status.PRESENT,
        )  # as of now the click is still in the future
        assert ahead == 1  # "events ahead of the clock counted: 1"
    finally:
        kit.drop_topics(s)


def _as_of_now(case: dict[str, Any], times: dict[str, int]) -> list[dict[str, Any]]:
    """The case's expected features with ``as_of: "now"`` read right after the user's event was
    counted: now (the lookup's default), or the event's own time when that is still ahead of now
    (a lookup as of t sees the events up to the end of t's second, design section 4: H26's fast
    event counts at its own time, 23 h from now, and not as of now)."""
    now = int(time.time() * 1000)
    out = []
    for f in case["expect"]["features"]:
        at = f["as_of"]
        if at == "now":
            at = times[f["user_id"]] if times[f["user_id"]] > now else None
        out.append({**f, "as_of": at})
    return out
