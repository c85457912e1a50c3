"""Producers against a real broker: synthetic round trip, raw records, replay, config errors.

Uses the ``stack`` (Settings of a running broker) and ``fresh_topic(partitions)`` fixtures of
``tests/integration/conftest.py``.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, Consumer

from tests.cases import DATA_DIR
from userpulse.events import Event, EventType
from userpulse.producers.kafka_out import EventSink, ProducerConfigError
from userpulse.producers.replay import load_dataset, replay
from userpulse.producers.synthetic import SyntheticTraffic, run_synthetic
from userpulse.schemas import codec
from userpulse.settings import Settings


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: tuple[int, int]


def _consume_all(
    bootstrap: str, topic: str, expected: int, timeout_s: float = 60.0
) -> list[Record]:
    """Read ``topic`` from the start until ``expected`` records arrived (or the timeout)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    out: list[Record] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1_000, timeout=0.5):
                assert msg.error() is None, msg.error()
                out.append(
                    Record(msg.partition(), msg.offset(), msg.key(), msg.value(), msg.timestamp())
                )
        # a short extra read: nothing beyond the expected count may be there
        for msg in consumer.consume(num_messages=1_000, timeout=1.0):
            out.append(
                Record(msg.partition(), msg.offset(), msg.key(), msg.value(), msg.timestamp())
            )
    finally:
        consumer.close()
    return out


@pytest.mark.integration
def test_synthetic_round_trip(stack: Settings, fresh_topic: Callable[[int], str]) -> None:
    topic = fresh_topic(3)
    sink = EventSink(stack.kafka_bootstrap, topic)
    assert sink.check_connection() == 3
    summary = run_synthetic(sink, 2_000.0, 1.0, 200, 11, progress=False)

    assert (summary.sent, summary.delivered, summary.failed, summary.undelivered) == (
        2_000,
        2_000,
        0,
        0,
    )
    assert sink.stats().delivered == 2_000 and sink.stats().in_flight == 0
    assert 1_900 <= summary.achieved_rate_per_s <= 2_050  # paced: 2,000/s within a few %
    assert summary.duration_s >= 1.0

    records = _consume_all(stack.kafka_bootstrap, topic, summary.delivered)
    assert len(records) == summary.delivered
    decoder = codec.Decoder()
    decoded = [(r, decoder.decode(r.value or b"")) for r in records]
    assert all(r.key == e.user_id.encode("utf-8") for r, e in decoded)

    assert summary.first_event_time_ms is not None
    expected = list(
        SyntheticTraffic(11, users=200, start_time_ms=summary.first_event_time_ms).events(
            2_000.0, 2_000
        )
    )
    assert sorted((e for _, e in decoded), key=lambda e: e.event_id) == sorted(
        expected, key=lambda e: e.event_id
    )

    # one user -> one partition, and the partition keeps the user's send order
    per_user: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for r, e in decoded:
        per_user[e.user_id].append((r.partition, r.offset, int(e.event_id.rsplit("-", 1)[1])))
    for rows in per_user.values():
        assert len({p for p, _, _ in rows}) == 1
        assert [n for _, _, n in sorted(rows)] == sorted(n for _, _, n in rows)


@pytest.mark.integration
def test_raw_records_tombstones_and_record_timestamps(
    stack: Settings, fresh_topic: Callable[[int], str]
) -> None:
    topic = fresh_topic(2)
    event = Event("e-1", EventType.CLICK, "user-ø", 1_767_225_600_000, "s-1", position=3)
    with EventSink(stack.kafka_bootstrap, topic, **{"linger.ms": 0}) as sink:
        sink.send(event)
        sink.send(event, value=b"\xc3\x01garbage")
        sink.send_raw(b"user-x", None, partition=1, timestamp_ms=1_234_567_890_123)
        sink.send_raw(None, b"no key", partition=0)
    assert sink.stats().delivered == 4

    records = _consume_all(stack.kafka_bootstrap, topic, 4)
    by_value = {r.value: r for r in records}
    assert len(records) == 4
    good = by_value[codec.encode(event)]
    assert good.key == "user-ø".encode() and codec.Decoder().decode(good.value or b"") == event
    assert by_value[b"\xc3\x01garbage"].key == "user-ø".encode()
    tomb = by_value[None]
    assert (tomb.partition, tomb.key) == (1, b"user-x")
    assert tomb.timestamp == (TIMESTAMP_CREATE_TIME, 1_234_567_890_123)
    assert (by_value[b"no key"].partition, by_value[b"no key"].key) == (0, None)


@pytest.mark.integration
@pytest.mark.skipif(not (DATA_DIR / "otto-recsys-sample").is_dir(), reason="no OTTO data")
def test_replay_otto_as_fast_as_possible(
    stack: Settings, fresh_topic: Callable[[int], str]
) -> None:
    topic = fresh_topic(3)
    events = load_dataset("otto", DATA_DIR)
    sink = EventSink(stack.kafka_bootstrap, topic)
    summary = replay(sink, events, None, progress=False, source="replay:otto")
    assert (summary.sent, summary.delivered, summary.failed) == (800, 800, 0)

    records = _consume_all(stack.kafka_bootstrap, topic, 800)
    decoder = codec.Decoder()
    got = sorted((decoder.decode(r.value or b"") for r in records), key=lambda e: e.event_id)
    assert got == sorted(events, key=lambda e: e.event_id)


def test_unknown_producer_property_is_rejected() -> None:
    with pytest.raises(ProducerConfigError, match="linger.mss"):
        EventSink("127.0.0.1:9", "t", **{"linger.mss": 5})
    with pytest.raises(ProducerConfigError, match="bootstrap.servers"):
        EventSink("127.0.0.1:9", "t", **{"bootstrap.servers": "x:1"})
    with pytest.raises(ProducerConfigError, match="topic"):
        EventSink("127.0.0.1:9", "")


@pytest.mark.integration
def test_records_the_broker_refuses_are_counted_failed_the_others_delivered(
    stack: Settings, fresh_topic: Callable[[int], str]
) -> None:
    """Only failed deliveries are reported (``delivery.report.only.error``): the counts still add
    up record by record, with the broker's own refusal named."""
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

    topic = fresh_topic(1)
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    limit = ConfigEntry("max.message.bytes", "1000", incremental_operation=AlterConfigOpType.SET)
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[limit])
    for fut in admin.incremental_alter_configs([res]).values():
        fut.result(timeout=30)
    rnd = random.Random(7)  # incompressible: lz4 must not shrink the large ones under the limit
    with EventSink(stack.kafka_bootstrap, topic, **{"linger.ms": 0}) as sink:
        for i in range(6):
            big = i in (2, 3)
            sink.send_raw(b"user-1", rnd.randbytes(5_000) if big else b"small")
            sink.flush(30)  # one record per batch: the broker judges each on its own
    st = sink.stats()
    assert (st.sent, st.delivered, st.failed, st.in_flight) == (6, 4, 2, 0)
    assert st.errors == {"MSG_SIZE_TOO_LARGE": 2}
    assert len(_consume_all(stack.kafka_bootstrap, topic, 4)) == 4
