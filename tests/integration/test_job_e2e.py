"""End to end on real parts: Kafka -> PyFlink (local execution) -> Redis -> lookup client.

EB-NeRD is replayed through the broker, the job runs bounded, then every user and every feature
is read back through the lookup client as of several times and compared with the reference
implementation computed offline from the same events.
"""

from __future__ import annotations

import pytest

from tests.cases import DATA_DIR
from tests.integration.jobkit import (
    drop_topics,
    flush_redis,
    job_settings,
    read_topic,
    run_bounded,
    send_events,
)
from userpulse.compare import as_of_points, compare
from userpulse.events import Event, EventType
from userpulse.lookup import FeatureClient, Status
from userpulse.producers.kafka_out import EventSink
from userpulse.producers.replay import load_dataset
from userpulse.schemas.codec import encode
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
T0 = 1717243200000


def test_ebnerd_replay_matches_reference(stack: Settings) -> None:
    events = load_dataset("ebnerd", DATA_DIR)
    s = job_settings(stack, partitions=3)  # per-partition watermarks: in-order replay, 0 late
    flush_redis(s)
    try:
        send_events(s, events)
        summary = run_bounded(s)
        assert summary == {"dead_lettered": 0, "late": 0}
        client = FeatureClient.from_settings(s)
        res = compare(client, events, as_of_points(events))
        assert res.mismatches == 0, res.bad
        assert res.compared > 10_000 and res.nonzero > 1_000, res
        assert client.get("never-seen")["count_click_1m"].status is Status.NOT_FOUND
    finally:
        drop_topics(s)


def test_malformed_records_go_to_dead_letter_topic_and_good_ones_are_counted(
    stack: Settings,
) -> None:
    s = job_settings(stack)
    flush_redis(s)
    good = [
        Event("g1", EventType.CLICK, "u1", T0, "s", item_id="i9"),
        Event("g2", EventType.CLICK, "u2", T0 + 1_000, "s", item_id="i9"),
        Event("g3", EventType.CLICK, "u2", T0 + 2_000, "s"),
    ]
    hover_bad = encode(Event("b4", EventType.HOVER, "u1", T0 + 4_000, "s", dwell_ms=-5))
    click_u1 = encode(good[0])
    try:
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.send(good[0])
            sink.send_raw(b"u1", click_u1[:7])  # truncated
            sink.send(good[1])
            sink.send_raw(b"u1", click_u1.replace(b"\x04u1", b"\x04\xff\xfe"))  # not UTF-8
            sink.send_raw(b"u1", hover_bad)  # dwell_ms = -5
            sink.send_raw(b"u1", b"")  # zero bytes
            sink.send_raw(b"u1", None)  # tombstone: skipped, not dead-lettered
            sink.send_raw(b"u3", encode(good[0].replace(user_id="u3", event_time_ms=1717243205)))
            sink.send(good[2])
            sink.flush(30)
        summary = run_bounded(s)
        dlq = read_topic(s, s.dead_letter_topic)
        assert summary["dead_lettered"] == len(dlq) == 5
        assert sorted(d["offset"] for d in dlq) == [1, 3, 4, 5, 7]
        assert all(d["topic"] == s.topic and d["partition"] == 0 for d in dlq)
        by_offset = {d["offset"]: d for d in dlq}
        assert "dwell_ms" in by_offset[4]["reason"]
        assert by_offset[5]["error_class"] == "empty"
        assert by_offset[3]["error_class"] == "bad_utf8"
        assert by_offset[7]["reason"].startswith("event_time out of range")
        assert by_offset[1]["value_bytes"] == 7
        client = FeatureClient.from_settings(s)
        assert client.get("u1", ["count_click_1m"], as_of=T0 + 59_999)["count_click_1m"].value == 1
        assert client.get("u2", ["count_click_1m"], as_of=T0 + 59_999)["count_click_1m"].value == 2
        assert client.get("u1", ["count_hover_1m"], as_of=T0 + 59_999)["count_hover_1m"].value == 0
        assert client.get("u3")["count_click_1m"].status is Status.NOT_FOUND
    finally:
        drop_topics(s)
