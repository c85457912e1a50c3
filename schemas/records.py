"""One Kafka record of the event topic -> what the job makes of it (counted, or dead-lettered
with a reason): decode, validate, key check, in the order of the JVM decode stage
(``io.userpulse.flink.decode``, design section 6). For the Python readers of a topic (backfill
checks, ``bench.verify_topic``) and the golden vectors that pin the JVM against this code."""

from __future__ import annotations

from typing import NamedTuple

from userpulse.events import Event, validation_error
from userpulse.schemas.codec import DecodeError, Decoder, RecordCoordinates


class RecordOutcome(NamedTuple):
    """What becomes of one Kafka record (:func:`decode_record`), as the job decides it.

    Attributes:
        event: the decoded event, or None when the bytes do not decode.
        error_class: ``""`` for a counted event, else why it is dead-lettered: a
            :class:`DecodeError` class, ``invalid_field`` or ``key_mismatch``.
        reason: human-readable reason (``""`` for a counted event).
    """

    event: Event | None
    error_class: str
    reason: str


def decode_record(
    decoder: Decoder,
    key: bytes | None,
    value: bytes,
    now_ms: int,
    max_future_ms: int,
    where: RecordCoordinates | None = None,
) -> RecordOutcome:
    """Decode, validate and key-check one record: the steps of the job's decode stage (the JVM
    ``io.userpulse.flink.decode`` path, design section 6) for the Python readers of a topic.

    Args:
        decoder: the codec's decoder (writer schemas, reader schema, size limit).
        key: the record key (the user id's UTF-8), or None.
        value: the record value (not None: tombstones are skipped by the caller).
        now_ms: the clock the event-time range is checked against, UTC epoch ms.
        max_future_ms: how far ahead of ``now_ms`` an event time may be, ms.
        where: the record's coordinates, named in the reason of a decode error.

    Returns:
        The outcome; never raises for a bad record (registry outages propagate).
    """
    try:
        e = decoder.decode(value, where)
    except DecodeError as exc:
        return RecordOutcome(None, exc.error_class, exc.reason)
    reason = validation_error(e, now_ms, max_future_ms)
    if reason is not None:
        return RecordOutcome(e, "invalid_field", reason)
    if key is not None and key != e.user_id.encode("utf-8"):
        return RecordOutcome(e, "key_mismatch", f"record key {key[:64]!r} is not the user_id")
    return RecordOutcome(e, "", "")
