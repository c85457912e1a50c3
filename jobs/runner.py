"""Running the feature job locally and summarising where records ended."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from userpulse import kafka_conf
from userpulse.jobs.pipeline import build_pipeline
from userpulse.jobs.runtime import create_env
from userpulse.settings import Settings


def topic_size(bootstrap: str, topic: str, config: Mapping[str, Any] | None = None) -> int:
    """Number of records in ``topic`` (sum of high minus low watermarks over partitions).

    Args:
        bootstrap: Kafka bootstrap servers, ``host:port[,...]``.
        topic: topic name; a missing topic counts 0.
        config: extra librdkafka properties, e.g. SASL / TLS from
            :func:`userpulse.kafka_conf.librdkafka_config`.
    """
    c = Consumer({**(config or {}), "bootstrap.servers": bootstrap, "group.id": "userpulse-sizer"})
    try:
        md = c.list_topics(topic, timeout=10)
        parts = md.topics[topic].partitions if topic in md.topics else {}
        total = 0
        for p in parts:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += hi - lo
        return total
    finally:
        c.close()


def run_job(
    settings: Settings, bounded: bool = False, job_name: str = "userpulse-features"
) -> dict[str, int]:
    """Build and execute the job; blocks until it ends (bounded) or is cancelled.

    Returns:
        ``{"dead_lettered": n, "late": n}``: sizes of the dead-letter and late topics afterwards
        (the dead-letter topic also holds one ``store_error`` record per user whose key Redis
        refused: docs/job.md).
    """
    env = create_env(settings)
    build_pipeline(env, settings, bounded=bounded)
    env.execute(job_name)
    conf = kafka_conf.librdkafka_config(settings)
    return {
        "dead_lettered": topic_size(settings.kafka_bootstrap, settings.dead_letter_topic, conf),
        "late": topic_size(settings.kafka_bootstrap, settings.late_topic, conf),
    }
