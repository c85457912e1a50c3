"""Helpers of the job tests: per-test topics and settings, reading a topic back, running the job."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import redis
from confluent_kafka import Consumer

from userpulse import kafka_conf, redis_conn
from userpulse import stack as stack_lib
from userpulse.events import Event
from userpulse.settings import Settings


def job_settings(stack: Settings, partitions: int = 1, **update: Any) -> Settings:
    """Settings with fresh input / dead-letter / late topics and consumer group for one test."""
    name = f"job.{uuid.uuid4().hex[:10]}"
    s = stack.model_copy(
        update={
            "topic": name,
            "dead_letter_topic": name + ".dlq",
            "late_topic": name + ".late",
            "group_id": "g." + name,
            "checkpoint_dir": stack.home / "checkpoints" / name,
            **update,
        }
    )
    stack_lib.recreate_topic(s, s.topic, partitions)
    stack_lib.recreate_topic(s, s.dead_letter_topic, 1)
    stack_lib.recreate_topic(s, s.late_topic, 1)
    return s


def send_events(
    s: Settings, events: Iterable[Event], timeout_s: float = 120.0, **config: Any
) -> int:
    """Produce ``events`` to ``s.topic`` (keyed by user, ``s``'s Kafka security), flushed; asserts
    every one was delivered and returns how many."""
    from userpulse.producers.kafka_out import EventSink

    n = 0
    with EventSink.for_settings(s, **config) as sink:
        for e in events:
            sink.send(e)
            n += 1
        sink.flush(timeout_s)
        assert sink.stats().delivered == n, sink.stats()
    return n


def drop_topics(s: Settings) -> None:
    """Delete the test's topics."""
    stack_lib.delete_topics(s, [s.topic, s.dead_letter_topic, s.late_topic])


def read_topic(s: Settings, topic: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """All JSON records of ``topic`` (dead-letter or late), from the beginning."""
    c = Consumer(
        {
            **kafka_conf.librdkafka_config(s),  # SASL / TLS, {} for PLAINTEXT
            "bootstrap.servers": s.kafka_bootstrap,
            "group.id": "reader." + uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        }
    )
    c.subscribe([topic])
    out: list[dict[str, Any]] = []
    eof = False
    import time

    deadline = time.monotonic() + timeout_s
    while not eof and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            eof = m.error().code() == -191  # _PARTITION_EOF
            continue
        out.append(json.loads(m.value().decode()))
    c.close()
    return out


def run_bounded(s: Settings) -> dict[str, int]:
    """Run the feature job bounded on ``s.topic`` (real PyFlink local execution)."""
    from userpulse.jobs.runner import run_job

    return run_job(s, bounded=True, job_name=f"test-{s.topic}")


def flush_redis(s: Settings) -> redis.Redis:
    """An admin client of the test Redis after FLUSHDB (tests run one at a time)."""
    r = redis_conn.connect(s, "admin")
    r.flushdb()
    return r


@contextlib.contextmanager
def unbounded_job(s: Settings, **env_extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """The feature job, unbounded, as a ``userpulse job run`` subprocess on ``s``'s topics;
    terminated (SIGTERM, then waited for) on exit."""
    env = {
        **os.environ,
        "USERPULSE_KAFKA_PORT": str(s.kafka_port),
        "USERPULSE_REDIS_PORT": str(s.redis_port),
        "USERPULSE_HOME": str(s.home),
        "USERPULSE_DEAD_LETTER_TOPIC": s.dead_letter_topic,
        "USERPULSE_LATE_TOPIC": s.late_topic,
        "USERPULSE_CHECKPOINT_DIR": str(s.checkpoint_dir),
        **env_extra,
    }
    cmd = [sys.executable, "-m", "userpulse", "job", "run", "--topic", s.topic]
    job = subprocess.Popen(
        [*cmd, "--group-id", s.group_id],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield job
    finally:
        job.terminate()
        job.wait(30)


def assert_case_features(s: Settings, case: dict[str, Any]) -> None:
    """Every ``expect.features`` entry of a case from ../shared/cases, read through the lookup
    client as of its ``as_of``, has the listed value."""
    from userpulse.lookup import FeatureClient

    client = FeatureClient.from_settings(s)
    for exp in case["expect"]["features"]:
        got = client.get(exp["user_id"], [exp["feature"]], as_of=exp["as_of"])[exp["feature"]]
        assert got.value == exp["value"], (case["id"], exp, got)
