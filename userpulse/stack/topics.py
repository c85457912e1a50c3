"""Kafka topics of the local stack: list, create (idempotently), delete, recreate."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from userpulse import kafka_conf
from userpulse.settings import Settings
from userpulse.stack.process import StackError, _port_open


def _admin(bootstrap: str, config: Mapping[str, Any] | None = None) -> AdminClient:
    """An AdminClient for ``bootstrap``; ``config``: extra librdkafka properties (SASL / TLS)."""
    return AdminClient(
        {
            **(config or {}),
            "bootstrap.servers": bootstrap,
            "socket.connection.setup.timeout.ms": 2000,
        }
    )


def _settings_admin(settings: Settings) -> AdminClient:
    """An AdminClient for the settings' bootstrap servers and Kafka security settings."""
    return _admin(settings.kafka_bootstrap, kafka_conf.librdkafka_config(settings))


def _kafka_metadata_ok(
    bootstrap: str, timeout_s: float, config: Mapping[str, Any] | None = None
) -> bool:
    """True when the first bootstrap server accepts TCP and metadata lists at least one broker.

    Args:
        config: extra librdkafka properties (SASL / TLS), see :mod:`userpulse.kafka_conf`.
    """
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    if not _port_open(host, int(port)):  # avoids librdkafka's connection-refused log spam
        return False
    try:
        md = _admin(bootstrap, config).list_topics(timeout=timeout_s)
    except KafkaException:
        return False
    return len(md.brokers) > 0


def list_topics(settings: Settings, timeout_s: float = 10.0) -> dict[str, int]:
    """Topic name -> partition count, internal topics (``__*``) left out."""
    md = _settings_admin(settings).list_topics(timeout=timeout_s)
    return {n: len(t.partitions) for n, t in md.topics.items() if not n.startswith("__")}


def _wait_topics(
    admin: AdminClient, want: dict[str, int | None], timeout_s: float, what: str
) -> None:
    """Wait until each topic has the wanted partitions with leaders (None = absent)."""
    deadline = time.monotonic() + timeout_s
    while True:
        md = admin.list_topics(timeout=timeout_s)
        pending = []
        for name, parts in want.items():
            t = md.topics.get(name)
            if parts is None:
                if t is not None and t.error is None:
                    pending.append(name)
            elif (
                t is None
                or t.error is not None
                or len(t.partitions) < parts
                or any(p.leader < 0 for p in t.partitions.values())
            ):
                pending.append(name)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise StackError(f"topics {pending} not {what} after {timeout_s:.0f} s")
        time.sleep(0.1)


def default_topics(settings: Settings) -> dict[str, int]:
    """The project's topics: input (``topic_partitions``), dead-letter and late (1 each)."""
    return {
        settings.topic: settings.topic_partitions,
        settings.dead_letter_topic: 1,
        settings.late_topic: 1,
    }


def ensure_topics(
    settings: Settings, topics: dict[str, int] | None = None, timeout_s: float = 30.0
) -> list[str]:
    """Create the topics that do not exist yet (replication factor 1); existing ones are kept.

    Args:
        topics: name -> partitions; default :func:`default_topics`.
        timeout_s: Seconds to wait for creation and for every partition to have a leader.

    Returns:
        Names of the topics created by this call (empty when all existed).

    Raises:
        StackError: creation failed or timed out, or a topic exists with another partition count.
    """
    topics = default_topics(settings) if topics is None else topics
    admin = _settings_admin(settings)
    existing = admin.list_topics(timeout=timeout_s).topics
    wrong = {
        n: len(existing[n].partitions)
        for n, p in topics.items()
        if n in existing and len(existing[n].partitions) != p
    }
    if wrong:
        raise StackError(
            "topics exist with other partition counts than wanted: "
            + ", ".join(f"{n} has {have}, wanted {topics[n]}" for n, have in wrong.items())
            + " (recreate them, which deletes their data, or change the settings)"
        )
    missing = [
        NewTopic(n, num_partitions=p, replication_factor=1)
        for n, p in topics.items()
        if n not in existing
    ]
    created = []
    if missing:
        for name, fut in admin.create_topics(missing, request_timeout=timeout_s).items():
            try:
                fut.result()
                created.append(name)
            except KafkaException as e:
                if e.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise StackError(f"creating topic {name!r} failed: {e}") from e
    _wait_topics(admin, {n: p for n, p in topics.items()}, timeout_s, "ready")
    return created


def delete_topics(settings: Settings, names: list[str], timeout_s: float = 30.0) -> None:
    """Delete topics (missing ones are ignored) and wait until they are gone."""
    admin = _settings_admin(settings)
    existing = admin.list_topics(timeout=timeout_s).topics
    doomed = [n for n in names if n in existing]
    if not doomed:
        return
    for name, fut in admin.delete_topics(doomed, request_timeout=timeout_s).items():
        try:
            fut.result()
        except KafkaException as e:
            if e.args[0].name() != "UNKNOWN_TOPIC_OR_PART":
                raise StackError(f"deleting topic {name!r} failed: {e}") from e
    _wait_topics(admin, dict.fromkeys(doomed), timeout_s, "deleted")


def recreate_topic(settings: Settings, name: str, partitions: int, timeout_s: float = 30.0) -> None:
    """Delete ``name`` if it exists and create it empty with ``partitions`` partitions."""
    delete_topics(settings, [name], timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:  # right after a delete the controller may still report the name as taken
        try:
            ensure_topics(settings, {name: partitions}, timeout_s)
            return
        except StackError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
