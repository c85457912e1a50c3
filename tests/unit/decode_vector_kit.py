"""Shared inputs of the JVM decoder's golden vectors (:mod:`tests.unit.test_jvm_decode_vectors`):
the clocks, the decoders the vectors name, the events, and the Python side's outcome of a record.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from userpulse.events import Event, EventType
from userpulse.schemas.codec import (
    CURRENT,
    Decoder,
    WriterSchema,
    load_schema_json,
)
from userpulse.schemas.records import RecordOutcome, decode_record

RESOURCES = Path(__file__).resolve().parents[2] / "jvm" / "src" / "test" / "resources"
VECTORS_PATH = RESOURCES / "decode" / "vectors.json"
METRICS_PATH = RESOURCES / "metrics" / "python_exposition.txt"
T0_MS = 1_717_243_200_000  # 2024-06-01T12:00:00Z, the T0 of the shared cases
NOW_MS = T0_MS + 3_600_000  # the validation clock of every vector
MAX_FUTURE_MS = 86_400_000
DLQ_MAX_KEY_BYTES = 1024
DLQ_MAX_VALUE_BYTES = 16_384


def v2_schema() -> dict[str, Any]:
    v2 = load_schema_json()
    v2["fields"].insert(
        len(v2["fields"]) - 1, {"name": "locale", "type": ["null", "string"], "default": None}
    )
    return v2


V2 = WriterSchema.from_json(v2_schema())
DECODERS: dict[str, dict[str, Any]] = {
    "default": {"reader": "v1", "writers": ["v1"], "max_record_bytes": 65_536},
    "old_job": {"reader": "v1", "writers": ["v1", "v2"], "max_record_bytes": 65_536},
    "new_job": {"reader": "v2", "writers": ["v1", "v2"], "max_record_bytes": 65_536},
    "small": {"reader": "v1", "writers": ["v1"], "max_record_bytes": 50},
}
SCHEMAS = {"v1": CURRENT, "v2": V2}


def py_decoder(name: str) -> Decoder:
    d = DECODERS[name]
    return Decoder(
        known=[SCHEMAS[w] for w in d["writers"]],
        reader=SCHEMAS[d["reader"]],
        max_record_bytes=d["max_record_bytes"],
    )


def b64(b: bytes | None) -> str | None:
    return None if b is None else base64.b64encode(b).decode()


def event_json(e: Event) -> dict[str, Any]:
    """The fields of the JVM ``Event`` (session_id, device, surface are not carried)."""
    return {
        "event_id": e.event_id,
        "event_type": e.event_type.value,
        "user_id": e.user_id,
        "event_time_ms": e.event_time_ms,
        "item_id": e.item_id,
        "position": e.position,
        "dwell_ms": e.dwell_ms,
        "scroll_depth": e.scroll_depth,
        "row": e.row,
        "scroll_px": e.scroll_px,
    }


def python_outcome(decoder: str, key: bytes | None, value: bytes) -> RecordOutcome:
    """What the Python path makes of a record: (event or None, error class, reason), by the
    production function (``userpulse.schemas.records.decode_record``: decode, validate, key)."""
    return decode_record(py_decoder(decoder), key, value, NOW_MS, MAX_FUTURE_MS)


def jvm_class(python_class: str) -> str:
    if python_class == "UnicodeDecodeError":
        return "bad_utf8"
    if python_class and python_class[0].isupper():  # an exception name: a fault of the bytes
        return "bad_avro"
    return python_class


CLICK = Event("e1", EventType.CLICK, "u1", T0_MS + 1_000, "s1", item_id="i9")
HOVER = Event("e2", EventType.HOVER, "u1", T0_MS + 2_000, "s1", dwell_ms=500)
SCROLL = Event("e3", EventType.SCROLL, "u2", T0_MS + 3_000, "s2", scroll_depth=0.4)
FULL = {"item_id": "item-7", "device": "ios", "surface": "home", "row": 3}
