"""Pure helpers of the job: decoded-record tuples and dead-letter / late JSON payloads.

Records between the decode operator and the keyed operator are plain tuples (cheap to pickle)::

    (user_id, event_type, event_time_ms, item_id, dwell_ms, scroll_depth, topic, partition, offset,
     event_id)
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from schemas.codec import DecodeError, Decoder
from userpulse.events import Event, EventType, validation_error

DLQ_MAX_VALUE_BYTES = 16_384
"""Original bytes kept on a dead-letter record (bounded; the rest is cut and flagged)."""

Decoded = tuple[str, str, int, str | None, int | None, float | None, str, int, int, str]


def to_record(e: Event, topic: str, partition: int, offset: int) -> Decoded:
    """The tuple sent from the decode operator to the keyed operator."""
    return (
        e.user_id,
        e.event_type.value,
        e.event_time_ms,
        e.item_id,
        e.dwell_ms,
        e.scroll_depth,
        topic,
        partition,
        offset,
        e.event_id,
    )


def to_event(r: Decoded) -> Event:
    """The :class:`Event` (the fields features need) of a decoded tuple."""
    return Event(
        event_id=r[9],
        event_type=EventType(r[1]),
        user_id=r[0],
        event_time_ms=r[2],
        session_id="",
        item_id=r[3],
        dwell_ms=r[4],
        scroll_depth=r[5],
    )


def dead_letter_json(
    key: bytes | None,
    value: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    error_class: str,
    reason: str,
    now_ms: int | None = None,
) -> str:
    """The dead-letter record: original bytes (base64, bounded), source position and reason."""
    v = value or b""
    return json.dumps(
        {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "error_class": error_class,
            "reason": reason,
            "key_b64": None if key is None else base64.b64encode(key[:1024]).decode(),
            "value_b64": base64.b64encode(v[:DLQ_MAX_VALUE_BYTES]).decode(),
            "value_bytes": len(v),
            "value_truncated": len(v) > DLQ_MAX_VALUE_BYTES,
            "dead_lettered_at_ms": int(time.time() * 1000) if now_ms is None else now_ms,
        },
        sort_keys=True,
    )


def late_json(r: Decoded, watermark_ms: int, allowed_lateness_ms: int) -> str:
    """The late-output record: the event, where it came from, and the watermark that judged it."""
    return json.dumps(
        {
            "user_id": r[0],
            "event_type": r[1],
            "event_time_ms": r[2],
            "item_id": r[3],
            "dwell_ms": r[4],
            "scroll_depth": r[5],
            "topic": r[6],
            "partition": r[7],
            "offset": r[8],
            "event_id": r[9],
            "watermark_ms": watermark_ms,
            "allowed_lateness_ms": allowed_lateness_ms,
        },
        sort_keys=True,
    )


def decode_record(
    decoder: Decoder,
    key: bytes | None,
    value: bytes,
    topic: str,
    partition: int,
    offset: int,
    now_ms: int,
    max_future_ms: int,
) -> tuple[Decoded | None, tuple[str, str] | None]:
    """Decode and validate one record: ``(record, None)`` or ``(None, (error_class, reason))``."""
    try:
        e = decoder.decode(value)
    except DecodeError as exc:
        return None, (exc.error_class, exc.reason)
    reason = validation_error(e, now_ms, max_future_ms)
    if reason is not None:
        return None, ("invalid_field", reason)
    if key is not None and key != e.user_id.encode("utf-8"):
        return None, ("key_mismatch", f"record key {key[:64]!r} is not the user_id")
    return to_record(e, topic, partition, offset), None


def parse(payload: str) -> dict[str, Any]:
    """Parse a dead-letter or late JSON payload (for tools and tests)."""
    out: dict[str, Any] = json.loads(payload)
    return out
