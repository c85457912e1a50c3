"""The malformed records of the JVM decoder's golden vectors: bytes that must be dead-lettered
with a stable error class on both sides (cases H23-H25: overlong varints, wide ints, bad unions).
"""

from __future__ import annotations

from tests.unit.decode_vector_kit import CLICK, HOVER, MAX_FUTURE_MS, NOW_MS, SCROLL, V2
from userpulse.events import MIN_EVENT_TIME_MS
from userpulse.schemas.codec import (
    CURRENT,
    encode,
    encode_body,
    encode_confluent,
)


def varint(v: int) -> bytes:
    """The minimal Avro zigzag varint of a long."""
    z, out = (v << 1) ^ (v >> 63), bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    return bytes([*out, z])


def overlong(v: int, n: int) -> bytes:
    """The varint of ``v`` padded with continuation bytes to ``n`` bytes (n >= minimal length)."""
    b = bytearray(varint(v))
    b[-1] |= 0x80
    b += b"\x80" * (n - len(b) - 1) + b"\x00"
    return bytes(b)


def replace_once(b: bytes, old: bytes, new: bytes) -> bytes:
    assert b.count(old) == 1, (b.hex(), old.hex())
    return b.replace(old, new)


def malformed_records() -> list[tuple[str, str, str, bytes | None, bytes]]:
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
            replace_once(click, b"s1\x02", b"s1\x7e"),
        ),
        (
            "negative_union_index",
            "H07",
            "default",
            b"u1",
            replace_once(click, b"s1\x02", b"s1\x01"),
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
            replace_once(encode(h), b"\x04ab", b"\x04\xff\xfe"),
        ),
        (
            "bad_utf8_item_id",
            "H07",
            "default",
            b"u1",
            replace_once(click, b"\x04i9", b"\x04\x80i"),
        ),
        (
            "bad_utf8_surrogate",
            "H07",
            "default",
            b"u1",
            replace_once(click, b"\x04s1", b"\x06\xed\xa0\x80"),
        ),
        (
            "bad_utf8_overlong",
            "H07",
            "default",
            b"u1",
            replace_once(click, b"\x04s1", b"\x04\xc0\xaf"),
        ),
        (
            "bad_utf8_cut_sequence",
            "H07",
            "default",
            b"u1",
            replace_once(click, b"\x04s1", b"\x04s\xe2"),
        ),
        (
            "negative_string_length",
            "H07",
            "default",
            b"u1",
            replace_once(click, b"\x04s1", b"\x01s1"),
        ),
        (
            "huge_string_length",
            "H07",
            "default",
            b"u1",
            replace_once(click, b"\x04s1", b"\xfe\xff\xff\xff\x0fs1"),
        ),
        (
            "overlong_varint_dwell",
            "H24",
            "default",
            b"u1",
            replace_once(hover, b"\xe8\x07", bytes.fromhex("e8878080808080808002")),
        ),
        (
            "varint_11_bytes",
            "H24",
            "default",
            b"u1",
            replace_once(hover, b"\xe8\x07", bytes.fromhex("e88780808080808080808000")),
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
            replace_once(click, varint(CLICK.event_time_ms), overlong(CLICK.event_time_ms, 11)),
        ),
        (
            "event_time_bit_64_set",
            "H24",
            "default",
            b"u1",
            replace_once(
                click,
                varint(CLICK.event_time_ms),
                overlong(CLICK.event_time_ms, 10)[:-1] + b"\x02",
            ),
        ),
        (
            "overlong_varint_string_length",
            "H24",
            "default",
            b"u1",
            replace_once(click, b"\x04s1", overlong(2, 10)[:-1] + b"\x02s1"),
        ),
        (
            "string_length_past_the_record",
            "H24",
            "default",
            b"u1",
            replace_once(click, b"\x04i9", b"\x40i9"),
        ),
        (
            "dwell_min_long_in_10_bytes",  # a legal 10-byte varint: -2**63, invalid as a dwell
            "H24",
            "default",
            b"u1",
            replace_once(hover, b"\xe8\x07", bytes.fromhex("ffffffffffffffffff01")),
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
