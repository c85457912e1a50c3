"""Golden vectors of the JVM decoder (``jvm/``, package ``io.userpulse.flink.decode``).

The JUnit tests of the JVM decode step read ``jvm/src/test/resources/decode/vectors.json``: record
bytes written by :mod:`userpulse.schemas.codec`, what the Python codec and validation make of them,
and what
the JVM must make of them. This test regenerates the file and asserts the committed one is equal,
so the two sides cannot drift apart. Regenerate after a deliberate change with::

    .venv/bin/python -m tests.unit.test_jvm_decode_vectors

Both sides reject every malformed vector: what fastavro reads leniently (overlong varints, ints
wider than 32 bits, negative union indexes: case H24) the codec's strict check
(:mod:`userpulse.schemas.strict`) rejects as ``bad_avro`` with the JVM's reason. Python's
exception-named
error classes map to the JVM's stable ones (``UnicodeDecodeError`` -> ``bad_utf8``, any other
exception -> ``bad_avro``).
The dead-letter and late JSON payloads are the format of ``jobs/records.py``: ``json.dumps`` of the
dict with sorted keys (ASCII escapes, Python float repr).
"""

from __future__ import annotations

import base64
import json
import random
import struct
import sys
from pathlib import Path
from typing import Any

from userpulse.events import MIN_EVENT_TIME_MS, Event, EventType
from userpulse.schemas.codec import (
    CURRENT,
    Decoder,
    WriterSchema,
    encode,
    encode_body,
    encode_confluent,
    load_schema_json,
)
from userpulse.schemas.records import RecordOutcome, decode_record

_RESOURCES = Path(__file__).resolve().parents[2] / "jvm" / "src" / "test" / "resources"
VECTORS_PATH = _RESOURCES / "decode" / "vectors.json"
METRICS_PATH = _RESOURCES / "metrics" / "python_exposition.txt"
T0_MS = 1_717_243_200_000  # 2024-06-01T12:00:00Z, the T0 of the shared cases
NOW_MS = T0_MS + 3_600_000  # the validation clock of every vector
MAX_FUTURE_MS = 86_400_000
DLQ_MAX_KEY_BYTES = 1024
DLQ_MAX_VALUE_BYTES = 16_384


def _v2_schema() -> dict[str, Any]:
    v2 = load_schema_json()
    v2["fields"].insert(
        len(v2["fields"]) - 1, {"name": "locale", "type": ["null", "string"], "default": None}
    )
    return v2


V2 = WriterSchema.from_json(_v2_schema())
DECODERS: dict[str, dict[str, Any]] = {
    "default": {"reader": "v1", "writers": ["v1"], "max_record_bytes": 65_536},
    "old_job": {"reader": "v1", "writers": ["v1", "v2"], "max_record_bytes": 65_536},
    "new_job": {"reader": "v2", "writers": ["v1", "v2"], "max_record_bytes": 65_536},
    "small": {"reader": "v1", "writers": ["v1"], "max_record_bytes": 50},
}
_SCHEMAS = {"v1": CURRENT, "v2": V2}


def _py_decoder(name: str) -> Decoder:
    d = DECODERS[name]
    return Decoder(
        known=[_SCHEMAS[w] for w in d["writers"]],
        reader=_SCHEMAS[d["reader"]],
        max_record_bytes=d["max_record_bytes"],
    )


def _b64(b: bytes | None) -> str | None:
    return None if b is None else base64.b64encode(b).decode()


def _event_json(e: Event) -> dict[str, Any]:
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


def _python_outcome(decoder: str, key: bytes | None, value: bytes) -> RecordOutcome:
    """What the Python path makes of a record: (event or None, error class, reason), by the
    production function (``userpulse.schemas.records.decode_record``: decode, validate, key)."""
    return decode_record(_py_decoder(decoder), key, value, NOW_MS, MAX_FUTURE_MS)


def _jvm_class(python_class: str) -> str:
    if python_class == "UnicodeDecodeError":
        return "bad_utf8"
    if python_class and python_class[0].isupper():  # an exception name: a fault of the bytes
        return "bad_avro"
    return python_class


CLICK = Event("e1", EventType.CLICK, "u1", T0_MS + 1_000, "s1", item_id="i9")
HOVER = Event("e2", EventType.HOVER, "u1", T0_MS + 2_000, "s1", dwell_ms=500)
SCROLL = Event("e3", EventType.SCROLL, "u2", T0_MS + 3_000, "s2", scroll_depth=0.4)
FULL = {"item_id": "item-7", "device": "ios", "surface": "home", "row": 3}


def _valid_events() -> list[tuple[str, Event, str]]:
    """(name, event, decoder) of records every decoder must accept."""
    out: list[tuple[str, Event, str]] = [
        ("click_minimal", CLICK.replace(item_id=None), "default"),
        ("click_all_optional", CLICK.replace(position=0, **FULL), "default"),
        ("click_position_large", CLICK.replace(position=2**31 - 1, row=-(2**31)), "default"),
        ("hover_minimal", HOVER, "default"),
        ("hover_all_optional", HOVER.replace(dwell_ms=2**40, **FULL), "default"),
        ("hover_dwell_zero", HOVER.replace(dwell_ms=0), "default"),
        ("scroll_depth_only", SCROLL, "default"),
        ("scroll_px_only", SCROLL.replace(scroll_depth=None, scroll_px=1200), "default"),
        ("scroll_both", SCROLL.replace(scroll_depth=1.0, scroll_px=0, **FULL), "default"),
        ("scroll_depth_zero", SCROLL.replace(scroll_depth=0.0), "default"),
        ("scroll_depth_tiny", SCROLL.replace(scroll_depth=1e-05), "default"),
        ("user_latin1", CLICK.replace(user_id="jürgen"), "default"),
        ("user_cjk", CLICK.replace(user_id="用户-42"), "default"),
        ("user_emoji", CLICK.replace(user_id="u😀"), "default"),
        ("user_128_bytes", CLICK.replace(user_id="€" * 42 + "xy"), "default"),
        (
            "non_ascii_everywhere",
            HOVER.replace(event_id="é", session_id="ß", item_id="ü"),
            "default",
        ),
        ("event_time_min", CLICK.replace(event_time_ms=MIN_EVENT_TIME_MS), "default"),
        ("event_time_max", CLICK.replace(event_time_ms=NOW_MS + MAX_FUTURE_MS), "default"),
        ("long_strings", CLICK.replace(event_id="x" * 300, item_id="y" * 300), "default"),
        ("old_job_v1", HOVER, "old_job"),
        ("new_job_v1", HOVER.replace(dwell_ms=1500), "new_job"),
    ]
    return out


def _valid() -> list[dict[str, Any]]:
    out = []
    for name, e, dec in _valid_events():
        for keyed in (True, False):
            key = e.user_id.encode() if keyed else None
            value = encode(e)
            got, cls, reason = _python_outcome(dec, key, value)
            assert got == e and not cls, (name, cls, reason)
            out.append(
                {
                    "name": name + ("" if keyed else "_no_key"),
                    "decoder": dec,
                    "key_b64": _b64(key),
                    "value_b64": _b64(value),
                    "event": _event_json(e),
                }
            )
    # v2 data (an extra optional field before the payload): old job and new job read it
    for dec in ("old_job", "new_job"):
        e = HOVER.replace(dwell_ms=1500)
        value = encode(e, V2)
        got, cls, _ = _python_outcome(dec, b"u1", value)
        assert got == e and not cls
        out.append(
            {
                "name": f"{dec}_v2",
                "decoder": dec,
                "key_b64": _b64(b"u1"),
                "value_b64": _b64(value),
                "event": _event_json(e),
            }
        )
    # a non-minimal varint within 64 bits is legal Avro (the specification does not forbid it;
    # AVRO-3307 asks to and is open): dwell 500 in 4 bytes decodes on both sides
    value = _replace_once(encode(HOVER), b"\xe8\x07", _overlong(500, 4))
    got, cls, _ = _python_outcome("default", b"u1", value)
    assert got == HOVER and not cls
    out.append(
        {
            "name": "dwell_varint_non_minimal",
            "decoder": "default",
            "key_b64": _b64(b"u1"),
            "value_b64": _b64(value),
            "event": _event_json(HOVER),
        }
    )
    return out


def _varint(v: int) -> bytes:
    """The minimal Avro zigzag varint of a long."""
    z, out = (v << 1) ^ (v >> 63), bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    return bytes([*out, z])


def _overlong(v: int, n: int) -> bytes:
    """The varint of ``v`` padded with continuation bytes to ``n`` bytes (n >= minimal length)."""
    b = bytearray(_varint(v))
    b[-1] |= 0x80
    b += b"\x80" * (n - len(b) - 1) + b"\x00"
    return bytes(b)


def _replace_once(b: bytes, old: bytes, new: bytes) -> bytes:
    assert b.count(old) == 1, (b.hex(), old.hex())
    return b.replace(old, new)


def _malformed_records() -> list[tuple[str, str, str, bytes | None, bytes]]:
    """(name, case, decoder, key, value) of records both sides reject."""
    click = encode(CLICK)  # ... 04 73 31 (session "s1") 02 04 69 39 (item "i9") 00 00 00 00 00
    hover = encode(HOVER)  # ... 04 e8 07: payload branch 2 (zigzag 4), dwell 500 (e8 07)
    h = CLICK.replace(user_id="ab")
    body = encode_body(CLICK)
    return [
        (
            "bad_union_index",
            "H07",
            "default",
            b"u1",
            _replace_once(click, b"s1\x02", b"s1\x7e"),
        ),
        (
            "negative_union_index",
            "H07",
            "default",
            b"u1",
            _replace_once(click, b"s1\x02", b"s1\x01"),
        ),
        ("payload_union_index_3", "H07", "default", b"u1", click[:-2] + b"\x06\x00"),
        ("truncated_to_7_bytes", "H07", "default", b"u1", click[:7]),
        ("truncated_body", "H07", "default", b"u1", click[:-1]),
        ("truncated_in_string", "H07", "default", b"u1", click[:14]),
        ("truncated_in_varint", "H07", "default", b"u1", click[:16]),
        (
            "bad_utf8_user_id",
            "H07",
            "default",
            b"u1",
            _replace_once(encode(h), b"\x04ab", b"\x04\xff\xfe"),
        ),
        (
            "bad_utf8_item_id",
            "H07",
            "default",
            b"u1",
            _replace_once(click, b"\x04i9", b"\x04\x80i"),
        ),
        (
            "bad_utf8_surrogate",
            "H07",
            "default",
            b"u1",
            _replace_once(click, b"\x04s1", b"\x06\xed\xa0\x80"),
        ),
        (
            "bad_utf8_overlong",
            "H07",
            "default",
            b"u1",
            _replace_once(click, b"\x04s1", b"\x04\xc0\xaf"),
        ),
        (
            "bad_utf8_cut_sequence",
            "H07",
            "default",
            b"u1",
            _replace_once(click, b"\x04s1", b"\x04s\xe2"),
        ),
        (
            "negative_string_length",
            "H07",
            "default",
            b"u1",
            _replace_once(click, b"\x04s1", b"\x01s1"),
        ),
        (
            "huge_string_length",
            "H07",
            "default",
            b"u1",
            _replace_once(click, b"\x04s1", b"\xfe\xff\xff\xff\x0fs1"),
        ),
        (
            "overlong_varint_dwell",
            "H24",
            "default",
            b"u1",
            _replace_once(hover, b"\xe8\x07", bytes.fromhex("e8878080808080808002")),
        ),
        (
            "varint_11_bytes",
            "H24",
            "default",
            b"u1",
            _replace_once(hover, b"\xe8\x07", bytes.fromhex("e88780808080808080808000")),
        ),
        (
            "int_wider_than_32_bits",
            "H24",
            "default",
            b"u1",
            click[:-1] + b"\x02" + bytes.fromhex("8080808010"),
        ),
        (
            "overlong_varint_event_time",  # 11 bytes: the event time would be T0 + 1 s
            "H24",
            "default",
            b"u1",
            _replace_once(click, _varint(CLICK.event_time_ms), _overlong(CLICK.event_time_ms, 11)),
        ),
        (
            "event_time_bit_64_set",
            "H24",
            "default",
            b"u1",
            _replace_once(
                click,
                _varint(CLICK.event_time_ms),
                _overlong(CLICK.event_time_ms, 10)[:-1] + b"\x02",
            ),
        ),
        (
            "overlong_varint_string_length",
            "H24",
            "default",
            b"u1",
            _replace_once(click, b"\x04s1", _overlong(2, 10)[:-1] + b"\x02s1"),
        ),
        (
            "string_length_past_the_record",
            "H24",
            "default",
            b"u1",
            _replace_once(click, b"\x04i9", b"\x40i9"),
        ),
        (
            "dwell_min_long_in_10_bytes",  # a legal 10-byte varint: -2**63, invalid as a dwell
            "H24",
            "default",
            b"u1",
            _replace_once(hover, b"\xe8\x07", bytes.fromhex("ffffffffffffffffff01")),
        ),
        ("trailing_byte", "H10", "default", b"u1", click + b"\x00"),
        (
            "trailing_bytes_v2_read_as_v1",
            "H10",
            "default",
            b"u1",
            CURRENT.fingerprint.join([b"\xc3\x01", encode_body(HOVER, V2)]),
        ),
        ("unknown_fingerprint", "H10", "default", b"u1", b"\xc3\x01" + b"\x00" * 8 + body),
        ("v2_writer_unknown", "H10", "default", b"u1", encode(HOVER, V2)),
        ("empty", "H12", "default", b"u1", b""),
        ("zero_byte", "H12", "default", b"u1", b"\x00"),
        ("header_only", "H12", "default", b"u1", click[:10]),
        ("header_cut", "H12", "default", b"u1", click[:5]),
        ("bad_magic", "H12", "default", b"u1", b"\xc3\x02" + click[2:]),
        ("schemaless_body", "H12", "default", b"u1", body),
        ("json_value", "H12", "default", b"u1", b'{"user_id": "u1"}'),
        ("confluent_unknown_id", "H09", "default", b"u1", encode_confluent(CLICK, 9999)),
        ("too_large", "", "small", b"u1", encode(CLICK.replace(item_id="x" * 100))),
        ("dwell_negative", "H07", "default", b"u1", encode(HOVER.replace(dwell_ms=-5))),
        (
            "event_time_seconds",
            "H03",
            "default",
            b"u1",
            encode(CLICK.replace(event_time_ms=1717243205)),
        ),
        (
            "event_time_micros",
            "H03",
            "default",
            b"u1",
            encode(CLICK.replace(event_time_ms=1717243205000000)),
        ),
        (
            "event_time_negative",
            "H03",
            "default",
            b"u1",
            encode(CLICK.replace(event_time_ms=-1)),
        ),
        (
            "event_time_two_days_ahead",
            "H03",
            "default",
            b"u1",
            encode(CLICK.replace(event_time_ms=NOW_MS + 2 * 86_400_000)),
        ),
        (
            "event_time_just_before_2000",
            "H03",
            "default",
            b"u1",
            encode(CLICK.replace(event_time_ms=MIN_EVENT_TIME_MS - 1)),
        ),
        (
            "event_time_one_ms_too_far",
            "H03",
            "default",
            b"u1",
            encode(CLICK.replace(event_time_ms=NOW_MS + MAX_FUTURE_MS + 1)),
        ),
        ("user_id_empty", "", "default", None, encode(CLICK.replace(user_id=""))),
        ("user_id_129_bytes", "", "default", None, encode(CLICK.replace(user_id="€" * 43))),
        ("scroll_nothing", "", "default", b"u2", encode(SCROLL.replace(scroll_depth=None))),
        (
            "scroll_depth_above_1",
            "",
            "default",
            b"u2",
            encode(SCROLL.replace(scroll_depth=1.5)),
        ),
        (
            "scroll_depth_negative",
            "",
            "default",
            b"u2",
            encode(SCROLL.replace(scroll_depth=-0.25)),
        ),
        (
            "scroll_depth_nan",
            "",
            "default",
            b"u2",
            encode(SCROLL.replace(scroll_depth=float("nan"))),
        ),
        (
            "scroll_depth_inf",
            "",
            "default",
            b"u2",
            encode(SCROLL.replace(scroll_depth=float("inf"))),
        ),
        (
            "scroll_px_negative",
            "",
            "default",
            b"u2",
            encode(SCROLL.replace(scroll_depth=None, scroll_px=-1)),
        ),
        ("key_mismatch", "", "default", b"u2", click),
        ("key_mismatch_binary", "", "default", b"\x00'\"\\\xff\n" + b"k" * 80, click),
        (
            "key_mismatch_non_ascii_user",
            "",
            "default",
            "jürgen".encode("latin-1"),
            encode(CLICK.replace(user_id="jürgen")),
        ),
    ]


def _malformed() -> list[dict[str, Any]]:
    out = []
    for name, case, dec, key, value in _malformed_records():
        _, cls, reason = _python_outcome(dec, key, value)
        assert cls, name
        expected = _jvm_class(cls)
        out.append(
            {
                "name": name,
                "case": case,
                "decoder": dec,
                "key_b64": _b64(key),
                "value_b64": _b64(value),
                "python_error_class": cls,
                "python_reason": reason,
                "error_class": expected,
                # validation and key reasons are the Python ones, character for character
                "reason": reason if expected in ("invalid_field", "key_mismatch") else None,
            }
        )
    return out


def _fuzz(n: int = 400) -> list[dict[str, Any]]:
    """Seeded mutations of valid records, with what the Python codec and validation make of them:
    bytes replaced, continuation bytes inserted (non-minimal and overlong varints), cuts. The
    JVM must accept exactly the records Python accepts, with the same event (case H24)."""
    rnd = random.Random(20261130)
    seeds = [encode(e) for e in (CLICK, HOVER.replace(dwell_ms=2**40, **FULL), SCROLL)]
    out = []
    for i in range(n):
        b = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(10, len(b))
            kind = rnd.random()
            if kind < 0.4:
                b[at] = rnd.randrange(256)
            elif kind < 0.8:
                b[at:at] = bytes([0x80 | rnd.randrange(128)] * rnd.randint(1, 4))
            else:
                del b[at:]
                break
        value = bytes(b)
        got, cls, _ = _python_outcome("default", None, value)
        out.append(
            {
                "name": f"fuzz_{i}",
                "value_b64": _b64(value),
                "event": _event_json(got) if not cls else None,
                "error_class": _jvm_class(cls) if cls else None,
            }
        )
    return out


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


def _dead_letters() -> list[dict[str, Any]]:
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
                "key_b64": _b64(key),
                "value_b64": _b64(value),
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


def _lates() -> list[dict[str, Any]]:
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
                "event": _event_json(e),
                "topic": "events",
                "partition": i % 3,
                "offset": 1000 + i,
                "watermark_ms": wm,
                "allowed_lateness_ms": lateness,
                "json": late_json(e, "events", i % 3, 1000 + i, wm, lateness),
            }
        )
    return out


def _float_reprs() -> list[dict[str, Any]]:
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


def _bytes_reprs() -> list[dict[str, Any]]:
    """Python ``repr`` of bytes (in ``key_mismatch`` reasons)."""
    samples = [b"", b"u1", b"'", b'"', b"'\"", b"a'b", b'a"b', b"\\", bytes(range(256))]
    return [{"b64": _b64(b), "repr": repr(b)} for b in samples]


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


def generate() -> str:
    """The vectors file's text (deterministic)."""
    doc = {
        "comment": "generated by tests/unit/test_jvm_decode_vectors.py; do not edit by hand",
        "now_ms": NOW_MS,
        "max_future_ms": MAX_FUTURE_MS,
        "schemas": {n: s.json for n, s in _SCHEMAS.items()},
        "fingerprints": {n: s.fingerprint.hex() for n, s in _SCHEMAS.items()},
        "decoders": DECODERS,
        "valid": _valid(),
        "malformed": _malformed(),
        "fuzz": _fuzz(),
        "dead_letter_json": _dead_letters(),
        "late_json": _lates(),
        "float_repr": _float_reprs(),
        "bytes_repr": _bytes_reprs(),
    }
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def test_committed_vectors_equal_a_fresh_generation() -> None:
    assert VECTORS_PATH.read_text() == generate(), (
        "regenerate: .venv/bin/python -m tests.unit.test_jvm_decode_vectors"
    )


def test_committed_metrics_exposition_equals_the_python_one() -> None:
    assert METRICS_PATH.read_text() == generate_metrics(), (
        "regenerate: .venv/bin/python -m tests.unit.test_jvm_decode_vectors"
    )


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else _RESOURCES  # another resources dir
    for path, text in ((VECTORS_PATH, generate()), (METRICS_PATH, generate_metrics())):
        out = root / path.relative_to(_RESOURCES)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"wrote {out}")
