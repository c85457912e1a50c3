"""The sink-side golden vectors of the JVM job: dead-letter and late JSON payloads (the format of
``jobs/records.py``), Python float and bytes reprs, and the metrics exposition.
"""

from __future__ import annotations

import base64
import json
import random
import struct
from typing import Any

from tests.unit.decode_vector_kit import (
    CLICK,
    DLQ_MAX_KEY_BYTES,
    DLQ_MAX_VALUE_BYTES,
    HOVER,
    NOW_MS,
    SCROLL,
    T0_MS,
    b64,
    event_json,
)
from userpulse.events import Event
from userpulse.schemas.codec import (
    encode,
)


def dead_letter_json(
    key: bytes | None,
    value: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    error_class: str,
    reason: str,
    now_ms: int,
) -> str:
    """The dead-letter payload (the format of ``jobs/records.py::dead_letter_json``)."""
    v = value or b""
    return json.dumps(
        {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "error_class": error_class,
            "reason": reason,
            "key_b64": None if key is None else base64.b64encode(key[:DLQ_MAX_KEY_BYTES]).decode(),
            "value_b64": base64.b64encode(v[:DLQ_MAX_VALUE_BYTES]).decode(),
            "value_bytes": len(v),
            "value_truncated": len(v) > DLQ_MAX_VALUE_BYTES,
            "dead_lettered_at_ms": now_ms,
        },
        sort_keys=True,
    )


def late_json(
    e: Event, topic: str, partition: int, offset: int, wm_ms: int, lateness_ms: int
) -> str:
    """The late-output payload (the format of ``jobs/records.py::late_json``)."""
    return json.dumps(
        {
            "user_id": e.user_id,
            "event_type": e.event_type.value,
            "event_time_ms": e.event_time_ms,
            "item_id": e.item_id,
            "dwell_ms": e.dwell_ms,
            "scroll_depth": e.scroll_depth,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "event_id": e.event_id,
            "watermark_ms": wm_ms,
            "allowed_lateness_ms": lateness_ms,
        },
        sort_keys=True,
    )


def dead_letters() -> list[dict[str, Any]]:
    rows: list[tuple[bytes | None, bytes | None, str, int, int, str, str]] = [
        (b"u1", encode(CLICK)[:7], "events", 0, 1, "bad_framing", "single-object header truncated"),
        (None, b"", "events", 3, 2**40, "empty", "record value has zero bytes"),
        (b"\xff" * 2000, b"\x01" * 16_385, 't\u00e9"x\\', 2, 7, "too_large", "16385 bytes > 65536"),
        (b"u1", b"\x00", "events", 0, 5, "bad_framing", "no known framing, first bytes 00"),
        (
            b"\x00'\"",
            encode(HOVER.replace(dwell_ms=-5)),
            "events",
            1,
            9,
            "invalid_field",
            "dwell_ms invalid: -5 (HOVER needs dwell_ms >= 0) \u00fc\u7528\U0001f600\x01\x7f\t\n",
        ),
        (
            b"",
            b"\x00" * 100,
            "events",
            0,
            0,
            "bad_framing",
            "no known framing, first bytes 00000000",
        ),
    ]
    out = []
    for key, value, topic, partition, offset, cls, reason in rows:
        out.append(
            {
                "key_b64": b64(key),
                "value_b64": b64(value),
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "error_class": cls,
                "reason": reason,
                "now_ms": NOW_MS,
                "json": dead_letter_json(key, value, topic, partition, offset, cls, reason, NOW_MS),
            }
        )
    return out


def lates() -> list[dict[str, Any]]:
    events = [
        CLICK,
        CLICK.replace(item_id=None, user_id='用户"\\\u00e9😀'),
        HOVER.replace(dwell_ms=2**40),
        SCROLL,
        SCROLL.replace(scroll_depth=1e-05),
        SCROLL.replace(scroll_depth=1.0),
        SCROLL.replace(scroll_depth=0.1 + 0.2),
        SCROLL.replace(scroll_depth=2.5e-7),
        SCROLL.replace(scroll_depth=0.0001),
        SCROLL.replace(scroll_depth=1 / 3),
        SCROLL.replace(scroll_depth=5e-324),
        SCROLL.replace(scroll_depth=None, scroll_px=7),
    ]
    out = []
    for i, e in enumerate(events):
        wm, lateness = T0_MS + 700_000 + i, 600_000
        out.append(
            {
                "event": event_json(e),
                "topic": "events",
                "partition": i % 3,
                "offset": 1000 + i,
                "watermark_ms": wm,
                "allowed_lateness_ms": lateness,
                "json": late_json(e, "events", i % 3, 1000 + i, wm, lateness),
            }
        )
    return out


def float_reprs() -> list[dict[str, Any]]:
    """Python ``repr`` of doubles (the JVM writes scroll depths and reasons the same way)."""
    rnd = random.Random(20261130)
    xs = [
        0.5,
        1.0,
        100.0,
        0.1 + 0.2,
        1e16,
        1e22,
        1234567890123456.0,
        123456789012345680.0,
        5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        2.5e-07,
        0.0001,
        0.001,
        9.999999999999999e-05,
        1e-05,
        2.0**-1074 * 3,
        2.0**60,
        2.0**-20,
        -1.5,
        -0.0,
    ]
    xs += [rnd.random() for _ in range(100)]
    xs += [struct.unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(300)]
    return [{"bits": struct.unpack("<q", struct.pack("<d", x))[0], "repr": repr(x)} for x in xs]


def bytes_reprs() -> list[dict[str, Any]]:
    """Python ``repr`` of bytes (in ``key_mismatch`` reasons)."""
    samples = [b"", b"u1", b"'", b'"', b"'\"", b"a'b", b'a"b', b"\\", bytes(range(256))]
    return [{"b64": b64(b), "repr": repr(b)} for b in samples]


def generate_metrics() -> str:
    """The Python workers' exposition of ``userpulse_*`` metrics, without values or _created."""
    from prometheus_client.exposition import generate_latest

    from userpulse import metrics

    class _Only:
        def collect(self) -> Any:
            for m in (
                metrics.EVENTS_IN,
                metrics.EVENTS_COUNTED,
                metrics.EVENTS_LATE,
                metrics.EVENTS_DEAD_LETTERED,
                metrics.EVENTS_AHEAD_OF_CLOCK,
                metrics.TOMBSTONES,
                metrics.DECODE_SECONDS,
                metrics.WRITE_SECONDS,
                metrics.FRESHNESS_MS,
                metrics.REDIS_RETRIES,
                metrics.SCHEMA_REGISTRY_RETRIES,
                metrics.STORE_ERRORS,
                metrics.STORE_RETRIES,
                metrics.STORE_BLOCKED,
                metrics.STORE_LOSSES,
                metrics.STORE_REWRITES,
                metrics.STORE_REWRITE_PENDING,
            ):
                yield from m.collect()

    lines = []
    for line in generate_latest(_Only()).decode().splitlines():  # type: ignore[arg-type]
        if "_created" in line or "{error_class=" in line:
            continue
        lines.append(line if line.startswith("#") else line.rsplit(" ", 1)[0])
    return "\n".join(lines) + "\n"
