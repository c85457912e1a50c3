"""The local stack: idempotent start, real Kafka round trip, Redis PING, clean stop."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from userpulse import redis_conn
from userpulse import stack as stack_lib
from userpulse.settings import Settings


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_ensure_jars_names_missing_maven(tmp_path: Path, stack_settings: Settings) -> None:
    """Without jars and without Maven the error says what to install; nothing is half-created."""
    settings = stack_settings.model_copy(update={"infra_lib": tmp_path / "lib"})
    with pytest.raises(stack_lib.StackError, match=r"'/nonexistent/mvn' not found.*maven"):
        stack_lib.ensure_jars(settings, mvn="/nonexistent/mvn")
    assert not (tmp_path / "lib" / ".stamp").exists()


@pytest.mark.integration
def test_up_is_idempotent(stack: Settings) -> None:
    first = stack_lib.status(stack)
    assert first.healthy
    assert first.kafka.pid is not None and first.redis.pid is not None
    again = stack_lib.up(stack)
    assert (again.kafka.pid, again.redis.pid) == (first.kafka.pid, first.redis.pid)
    assert stack_lib.ensure_topics(stack) == []  # all exist already
    assert again.topics[stack.topic] == stack.topic_partitions
    assert again.topics[stack.dead_letter_topic] == 1
    assert again.topics[stack.late_topic] == 1


@pytest.mark.integration
def test_redis_ping_and_roundtrip(stack: Settings) -> None:
    client = redis_conn.connect(stack, "admin")
    try:
        assert client.ping() is True
        key = f"test:{uuid.uuid4().hex}"
        client.set(key, b"\x00\xffvalue", ex=60)
        assert client.get(key) == b"\x00\xffvalue"
        assert client.config_get("save") == {"save": ""}  # no snapshots from the test Redis
    finally:
        client.close()


@pytest.mark.integration
def test_auto_create_is_off(stack: Settings) -> None:
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap, "message.timeout.ms": 1000})
    errors: list[str] = []
    producer.produce(
        f"test.never-created.{uuid.uuid4().hex[:8]}",
        value=b"x",
        on_delivery=lambda err, msg: errors.append(err.name() if err else "delivered"),
    )
    producer.flush(10)
    assert errors and errors[0] != "delivered"
    assert all(not t.startswith("test.never-created") for t in stack_lib.list_topics(stack))


@pytest.mark.integration
def test_produced_record_is_consumed_back_byte_equal(
    stack: Settings, fresh_topic: Callable[[int], str]
) -> None:
    topic = fresh_topic(3)
    assert stack_lib.list_topics(stack)[topic] == 3
    key = "user-é-\u4e2d".encode()
    value = os.urandom(512) + b"\x00\xc3\x01"
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap, "acks": "all"})
    delivered: list[tuple[int, int]] = []

    def on_delivery(err: object, msg: object) -> None:
        assert err is None, err
        delivered.append((msg.partition(), msg.offset()))  # type: ignore[attr-defined]

    producer.produce(topic, key=key, value=value, partition=1, on_delivery=on_delivery)
    assert producer.flush(10) == 0
    assert delivered == [(1, 0)]

    consumer = Consumer(
        {
            "bootstrap.servers": stack.kafka_bootstrap,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 1, 0)])
        msg = None
        for _ in range(50):
            msg = consumer.poll(0.2)
            if msg is not None:
                break
        assert msg is not None and msg.error() is None
        assert (msg.topic(), msg.partition(), msg.offset()) == (topic, 1, 0)
        assert msg.key() == key
        assert msg.value() == value
    finally:
        consumer.close()


@pytest.mark.integration
def test_recreate_topic_empties_it(stack: Settings, fresh_topic: Callable[[int], str]) -> None:
    topic = fresh_topic(1)
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap})
    producer.produce(topic, value=b"old")
    assert producer.flush(10) == 0
    stack_lib.recreate_topic(stack, topic, 2)
    assert stack_lib.list_topics(stack)[topic] == 2
    with pytest.raises(stack_lib.StackError, match=f"{topic} has 2, wanted 3"):
        stack_lib.ensure_topics(stack, {topic: 3})  # never silently keeps a different layout
    consumer = Consumer({"bootstrap.servers": stack.kafka_bootstrap, "group.id": "test-recreate"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        assert (low, high) == (0, 0)
    finally:
        consumer.close()


@pytest.mark.integration
def test_down_stops_both_and_up_restarts_with_data_kept(stack: Settings) -> None:
    """Runs down/up in the middle of the session, so it leaves the stack up for later tests."""
    before = stack_lib.status(stack)
    assert before.healthy
    after = stack_lib.down(stack)
    assert not after.kafka.reachable and not after.redis.reachable
    assert after.kafka.pid is None and after.redis.pid is None
    for port in (stack.kafka_port, stack.kafka_controller_port, stack.redis_port):
        assert not _port_open("127.0.0.1", port), port
    assert stack_lib.down(stack) == after  # stopping twice is harmless

    restarted = stack_lib.up(stack)
    assert restarted.healthy
    assert restarted.kafka.pid not in (None, before.kafka.pid)
    # the broker's data dir survives a restart: topics are still there, with their partitions
    assert restarted.topics[stack.topic] == stack.topic_partitions
