"""A small, counted wrapper over :class:`confluent_kafka.Producer` for events.

The record key is the event's ``user_id`` as UTF-8 bytes (design section 3), so one user's events
keep their order within a partition; the value is :func:`userpulse.schemas.codec.encode`
(single-object Avro
framing) unless the caller passes raw bytes. Records are counted (sent, delivered, failed);
:meth:`EventSink.stats` returns a snapshot. librdkafka reports failed deliveries only
(``delivery.report.only.error``): a delivery report per record cost a Python callback per record,
28% of the synthetic producer's CPU (py-spy, 8,000 events/s, 2026-12-01); a record counts as
delivered once librdkafka no longer holds it and reported no error for it.

Producer configuration is tuned for throughput and overridable by keyword arguments named like
the librdkafka properties. Dotted names do not fit Python identifiers, so pass them unpacked::

    EventSink("127.0.0.1:9092", "userpulse.events", **{"linger.ms": 0, "acks": "1"})

Unknown properties are rejected at construction with :class:`ProducerConfigError`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from userpulse import kafka_conf
from userpulse.errors import UserpulseError
from userpulse.events import Event
from userpulse.schemas import codec
from userpulse.settings import Settings

DEFAULT_PRODUCER_CONFIG: dict[str, Any] = {
    "linger.ms": 5,  # wait up to 5 ms to fill a batch: throughput without visible latency
    "batch.size": 1_000_000,  # bytes per partition batch
    "batch.num.messages": 10_000,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 500_000,  # local queue; send() polls when it is full
    "queue.buffering.max.kbytes": 1_048_576,
    "enable.idempotence": True,  # no duplicates or reordering on retries (keeps per-user order)
    "acks": "all",
    "delivery.report.only.error": True,  # successes are counted without a callback each
}
"""Throughput-oriented defaults (librdkafka property names); any of them can be overridden."""

_FULL_QUEUE_POLL_S = 0.05
LOG = logging.getLogger("userpulse.producers.kafka")
"""librdkafka's own log lines (connection failures, retries) go here, not straight to stderr."""


class ProducerError(UserpulseError):
    """Root of the errors raised by :mod:`producers`."""


class ProducerConfigError(ProducerError, ValueError):
    """A producer property is unknown or has an invalid value (not retryable)."""


@dataclass(frozen=True)
class SinkStats:
    """Delivery counters of an :class:`EventSink` since it was created.

    Attributes:
        sent: records handed to the producer (``produce()`` accepted them).
        delivered: records the broker acknowledged.
        failed: records whose delivery report carried an error.
        errors: failed records by librdkafka error name (``_MSG_TIMED_OUT``, ...).
        last_error: text of the newest delivery error, or None.
    """

    sent: int
    delivered: int
    failed: int
    errors: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None

    @property
    def in_flight(self) -> int:
        """Records sent whose delivery report has not arrived yet."""
        return self.sent - self.delivered - self.failed


class EventSink:
    """Produce events (or raw records) to one topic and count the delivery reports.

    Args:
        bootstrap: Kafka bootstrap servers, ``host:port[,host:port...]``.
        topic: topic every record goes to.
        **config: librdkafka producer properties overriding :data:`DEFAULT_PRODUCER_CONFIG`
            (``bootstrap.servers`` and ``on_delivery`` are set by the sink).

    Raises:
        ProducerConfigError: ``topic`` or ``bootstrap`` is empty, or a property is unknown or
            invalid (the message names it).

    Delivery callbacks run inside :meth:`poll` / :meth:`flush` (and inside :meth:`send` when the
    local queue is full), on the calling thread. Not meant to be shared between threads.
    """

    def __init__(self, bootstrap: str, topic: str, **config: Any) -> None:
        if not bootstrap:
            raise ProducerConfigError("bootstrap must name at least one broker (host:port)")
        if not topic:
            raise ProducerConfigError("topic must not be empty")
        for reserved in ("bootstrap.servers", "on_delivery"):
            if reserved in config:
                raise ProducerConfigError(f"{reserved!r} is set by EventSink; do not pass it")
        conf = {
            "logger": LOG,
            **DEFAULT_PRODUCER_CONFIG,
            **config,
            "bootstrap.servers": bootstrap,
            "on_delivery": self._on_delivery,
        }
        try:
            self._producer = Producer(conf)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else exc
            text = err.str() if isinstance(err, KafkaError) else str(err)
            raise ProducerConfigError(
                f"invalid producer configuration: {text} (property names: librdkafka "
                "CONFIGURATION.md)"
            ) from None
        except (ValueError, TypeError) as exc:
            raise ProducerConfigError(f"invalid producer configuration: {exc}") from None
        self.topic = topic
        self.bootstrap = bootstrap
        self.encoder: Callable[[Event], bytes] = codec.encode
        """Event -> record value: single-object framing by default; assign a
        :class:`userpulse.schemas.registry.ConfluentEncoder` for the Confluent wire format."""
        self._lock = threading.Lock()
        self._sent = 0
        self._failed = 0
        self._errors: Counter[str] = Counter()
        self._last_error: str | None = None

    @classmethod
    def for_settings(cls, settings: Settings, topic: str | None = None, **config: Any) -> EventSink:
        """A sink on ``settings``' bootstrap servers with its Kafka security (SASL / TLS) and its
        framing (``settings.framing``: with ``confluent``, the schema is registered under the
        topic's subject first) and schema version (``settings.schema_dir``, else this build's).

        Args:
            settings: bootstrap servers, ``topic`` default, ``framing`` and registry, and
                ``kafka_*`` security settings (mapped by
                :func:`userpulse.kafka_conf.librdkafka_config`).
            topic: default ``settings.topic``.
            **config: librdkafka producer properties, as for the constructor (they win over the
                security properties).

        Raises:
            ProducerConfigError: as for the constructor, and for Confluent framing without a
                reachable registry or with a schema the registry refuses.
        """
        security = kafka_conf.librdkafka_config(settings)
        topic = topic or settings.topic
        encoder: Callable[[Event], bytes] | None = None
        if settings.schema_dir is not None:
            encoder = codec.SingleObjectEncoder(codec.reader_schema(settings.schema_dir))
        if settings.framing == "confluent":
            from userpulse.schemas.registry import RegistryError, encoder_for

            try:
                encoder = encoder_for(settings, topic)
            except RegistryError as exc:
                raise ProducerConfigError(str(exc)) from None
        sink = cls(settings.kafka_bootstrap, topic, **{**security, **config})
        if encoder is not None:
            sink.encoder = encoder
        return sink

    # --- delivery reports ------------------------------------------------------------------

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is None:  # a success (reported only when delivery.report.only.error is false)
            return
        with self._lock:
            self._failed += 1
            self._errors[err.name()] += 1
            self._last_error = err.str()

    # --- producing ---------------------------------------------------------------------------

    def send(self, event: Event, value: bytes | None = None) -> None:
        """Produce ``event`` keyed by its user id.

        Args:
            event: the event; its ``user_id`` (UTF-8) becomes the record key.
            value: record value to send instead of the encoder's (tests use it to send
                a deliberately broken value under a real user's key).

        Raises:
            ProducerError: the producer refused the record for a reason other than a full queue.
        """
        payload = self.encoder(event) if value is None else value
        self._produce(event.user_id.encode("utf-8", "surrogatepass"), payload, None, None)

    def send_raw(
        self,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> None:
        """Produce a raw record: malformed values, tombstones (``value=None``), odd keys.

        Args:
            key: record key bytes, or None for no key.
            value: record value bytes, or None for a tombstone.
            partition: explicit partition; None lets the partitioner choose by key.
            timestamp_ms: Kafka record timestamp (CreateTime), UTC epoch milliseconds; None lets
                the client stamp the current time. The payload's event time is not touched.

        Raises:
            ProducerError: the producer refused the record (for example an unknown partition).
        """
        self._produce(key, value, partition, timestamp_ms)

    def _produce(
        self, key: bytes | None, value: bytes | None, partition: int | None, ts_ms: int | None
    ) -> None:
        kwargs: dict[str, Any] = {"key": key, "value": value}
        if partition is not None:
            kwargs["partition"] = partition
        if ts_ms is not None:
            kwargs["timestamp"] = ts_ms
        while True:
            try:
                self._producer.produce(self.topic, **kwargs)
                break
            except BufferError:  # local queue full: serve delivery reports, then retry
                self._producer.poll(_FULL_QUEUE_POLL_S)
            except KafkaException as exc:
                raise ProducerError(f"produce to {self.topic!r} failed: {exc}") from None
        self._sent += 1

    def check_connection(self, timeout_s: float = 10.0) -> int | None:
        """Ask the cluster for metadata before sending anything.

        Args:
            timeout_s: how long to wait for the brokers, seconds.

        Returns:
            The number of partitions of :attr:`topic`, or None when the topic does not exist
            (yet; a broker with auto-creation creates it on the first record).

        Raises:
            ProducerError: no broker answered within ``timeout_s`` (message names the address).
        """
        try:
            meta = self._producer.list_topics(timeout=timeout_s)
        except KafkaException as exc:
            raise ProducerError(
                f"cannot reach Kafka at {self.bootstrap} within {timeout_s:g} s ({exc}); start "
                "the local stack (`userpulse up`) or set USERPULSE_BOOTSTRAP_SERVERS"
            ) from None
        topic = meta.topics.get(self.topic)
        if topic is None or topic.error is not None:
            return None
        return len(topic.partitions)

    def poll(self, timeout_s: float = 0.0) -> int:
        """Serve pending delivery reports, waiting up to ``timeout_s`` seconds; returns how many."""
        return int(self._producer.poll(timeout_s))

    def flush(self, timeout_s: float = 30.0) -> int:
        """Wait up to ``timeout_s`` seconds for all in-flight records; returns how many remain."""
        return int(self._producer.flush(timeout_s))

    def stats(self) -> SinkStats:
        """A snapshot of the delivery counters."""
        with self._lock:
            # librdkafka holds the records not yet delivered and the reports not yet served
            held = len(self._producer)
            return SinkStats(
                sent=self._sent,
                delivered=max(0, self._sent - self._failed - held),
                failed=self._failed,
                errors=dict(self._errors),
                last_error=self._last_error,
            )

    def close(self, timeout_s: float = 30.0) -> int:
        """Flush (up to ``timeout_s`` seconds); returns the records still undelivered."""
        return self.flush(timeout_s)

    def __enter__(self) -> EventSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
