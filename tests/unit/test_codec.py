"""Codec: round trips, golden bytes, and bad bytes as typed errors (cases H07, H10, H12)."""

from __future__ import annotations

import json

import pytest

from userpulse.errors import UserpulseError
from userpulse.events import Event, EventType
from userpulse.schemas.codec import (
    CURRENT,
    DecodeError,
    Decoder,
    RecordCoordinates,
    WriterSchema,
    encode,
    encode_body,
    encode_confluent,
    load_schema_json,
)

HOVER = Event("e1", EventType.HOVER, "u1", 1717243201000, "s1", item_id="i9", dwell_ms=1500)
SCROLL = Event("e2", EventType.SCROLL, "u2", 1717243202000, "s2", scroll_depth=0.5)
CLICK = Event("e3", EventType.CLICK, "u3", 1717243203000, "s3", position=2)


def test_fingerprint_is_pinned() -> None:
    assert CURRENT.fingerprint.hex() == "22326ba50b7ae27e"


@pytest.mark.parametrize(
    ("event", "golden"),
    [
        (HOVER, "c30122326ba50b7ae27e046531047531d097debafa630473310204693900000004b817"),
        (CLICK, "c30122326ba50b7ae27e046533047533f0b6debafa6304733300000000000204"),
    ],
)
def test_single_object_golden_bytes(event: Event, golden: str) -> None:
    assert encode(event).hex() == golden
    assert Decoder().decode(bytes.fromhex(golden)) == event


def test_confluent_golden_bytes() -> None:
    b = encode_confluent(SCROLL, 7)
    assert b.hex() == "0000000007046532047532a0a7debafa63047332000000000202000000000000e03f00"
    dec = Decoder(schema_by_id={7: CURRENT}.__getitem__)
    assert dec.decode(b) == SCROLL
    with pytest.raises(DecodeError) as ei:
        dec.decode(encode_confluent(SCROLL, 9999))
    assert ei.value.error_class == "unknown_schema" and "9999" in ei.value.reason


@pytest.mark.parametrize("event", [HOVER, SCROLL, CLICK])
def test_round_trip(event: Event) -> None:
    assert Decoder().decode(encode(event)) == event


def test_bad_bytes_become_typed_errors() -> None:
    good = encode(CLICK.replace(item_id="i9"))
    body = encode_body(CLICK.replace(item_id="i9"))
    # first union index byte: after event_id, user_id, event_time, session_id
    prefix = encode_body(CLICK.replace(item_id=None))
    i = 10 + prefix.index(b"\x04s3") + 3
    assert good[i] == 0x02  # item_id present -> branch 1 (zigzag 2)
    bad_union = good[:i] + b"\x7e" + good[i + 1 :]
    bad_utf8 = encode(CLICK.replace(user_id="ab")).replace(b"\x04ab", b"\x04\xff\xfe")
    cases = {
        "bad_union": bad_union,
        "truncated": good[:7],
        "truncated_body": good[:-1],
        "bad_utf8": bad_utf8,
        "trailing": good + b"\x00",
        "empty": b"",
        "zero_byte": b"\x00",
        "header_only": good[:10],
        "unknown_fp": b"\xc3\x01" + b"\x00" * 8 + body,
    }
    d = Decoder()
    classes = {}
    for name, data in cases.items():
        with pytest.raises(DecodeError) as ei:
            d.decode(data)
        classes[name] = ei.value.error_class
        assert ei.value.reason
    assert classes["trailing"] == "trailing_bytes"
    assert classes["empty"] == "empty"
    assert classes["unknown_fp"] == "unknown_schema"
    assert classes["bad_utf8"] == "UnicodeDecodeError"
    assert classes["header_only"] == "bad_avro"
    # the decoder is not poisoned: a good record still decodes after all of that
    assert d.decode(good) == CLICK.replace(item_id="i9")


def test_decode_error_carries_the_records_coordinates() -> None:
    where = RecordCoordinates("userpulse.events", 3, 41_207)
    with pytest.raises(DecodeError) as got:
        Decoder().decode(encode(CLICK)[:-1], where)
    e = got.value
    assert (e.where, e.error_class, e.value) == (where, "bad_avro", encode(CLICK)[:-1])
    assert str(e).endswith("(record userpulse.events[3]@41207)")
    assert isinstance(e, UserpulseError)  # the CLI reports it in one line
    with pytest.raises(DecodeError) as bare:  # without coordinates: as before
        Decoder().decode(b"\x00")
    assert bare.value.where is None and "record" not in str(bare.value)
    assert Decoder().decode(encode(CLICK), where) == CLICK  # a good record is unaffected


def test_evolution_v1_v2_both_ways() -> None:
    v1 = load_schema_json()
    v2 = json.loads(json.dumps(v1))
    v2["fields"].insert(
        len(v2["fields"]) - 1, {"name": "locale", "type": ["null", "string"], "default": None}
    )
    w1, w2 = CURRENT, WriterSchema.from_json(v2)
    assert w1.fingerprint != w2.fingerprint
    ev = HOVER
    # new job (reader v2) reads old data (v1) and new data (v2)
    new_job = Decoder(known=[w1, w2], reader=w2)
    assert new_job.decode(encode(ev, w1)) == ev
    assert new_job.decode(encode(ev, w2)) == ev
    # old job (reader v1) reads new data when it knows the v2 writer schema
    old_job = Decoder(known=[w2])
    assert old_job.decode(encode(ev, w2)) == ev
    # an unknown writer schema is a bad record, never silently misread
    with pytest.raises(DecodeError) as ei:
        Decoder().decode(encode(ev, w2))
    assert ei.value.error_class == "unknown_schema"


def test_schemaless_only_with_configured_writer_schema() -> None:
    body = encode_body(HOVER)
    with pytest.raises(DecodeError):
        Decoder().decode(body)
    assert Decoder(schemaless=CURRENT).decode(body) == HOVER


def test_too_large() -> None:
    big = encode(HOVER.replace(item_id="x" * 100))
    with pytest.raises(DecodeError) as ei:
        Decoder(max_record_bytes=50).decode(big)
    assert ei.value.error_class == "too_large"
