"""Running the feature job locally and summarising where records ended."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition

from jobs.pipeline import build_pipeline
from jobs.runtime import create_env
from userpulse.settings import Settings


def topic_size(bootstrap: str, topic: str) -> int:
    """Number of records in ``topic`` (sum of high minus low watermarks over partitions)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "userpulse-sizer"})
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
        ``{"dead_lettered": n, "late": n}``: sizes of the dead-letter and late topics afterwards.
    """
    env = create_env(settings)
    build_pipeline(env, settings, bounded=bounded)
    env.execute(job_name)
    return {
        "dead_lettered": topic_size(settings.kafka_bootstrap, settings.dead_letter_topic),
        "late": topic_size(settings.kafka_bootstrap, settings.late_topic),
    }
