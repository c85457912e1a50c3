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

The inputs live beside this generator: :mod:`tests.unit.decode_vector_kit` (clocks, decoders,
events), :mod:`tests.unit.decode_malformed` (the malformed records) and
:mod:`tests.unit.jvm_output_vectors` (dead-letter / late payloads, reprs, metrics).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

from tests.unit.decode_malformed import malformed_records, overlong, replace_once
from tests.unit.decode_vector_kit import (
    CLICK,
    DECODERS,
    FULL,
    HOVER,
    MAX_FUTURE_MS,
    METRICS_PATH,
    NOW_MS,
    RESOURCES,
    SCHEMAS,
    SCROLL,
    V2,
    VECTORS_PATH,
    b64,
    event_json,
    jvm_class,
    python_outcome,
)
from tests.unit.jvm_output_vectors import (
    bytes_reprs,
    dead_letters,
    float_reprs,
    generate_metrics,
    lates,
)
from userpulse.events import MIN_EVENT_TIME_MS, Event
from userpulse.schemas.codec import (
    encode,
)


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
            got, cls, reason = python_outcome(dec, key, value)
            assert got == e and not cls, (name, cls, reason)
            out.append(
                {
                    "name": name + ("" if keyed else "_no_key"),
                    "decoder": dec,
                    "key_b64": b64(key),
                    "value_b64": b64(value),
                    "event": event_json(e),
                }
            )
    # v2 data (an extra optional field before the payload): old job and new job read it
    for dec in ("old_job", "new_job"):
        e = HOVER.replace(dwell_ms=1500)
        value = encode(e, V2)
        got, cls, _ = python_outcome(dec, b"u1", value)
        assert got == e and not cls
        out.append(
            {
                "name": f"{dec}_v2",
                "decoder": dec,
                "key_b64": b64(b"u1"),
                "value_b64": b64(value),
                "event": event_json(e),
            }
        )
    # a non-minimal varint within 64 bits is legal Avro (the specification does not forbid it;
    # AVRO-3307 asks to and is open): dwell 500 in 4 bytes decodes on both sides
    value = replace_once(encode(HOVER), b"\xe8\x07", overlong(500, 4))
    got, cls, _ = python_outcome("default", b"u1", value)
    assert got == HOVER and not cls
    out.append(
        {
            "name": "dwell_varint_non_minimal",
            "decoder": "default",
            "key_b64": b64(b"u1"),
            "value_b64": b64(value),
            "event": event_json(HOVER),
        }
    )
    return out


def _malformed() -> list[dict[str, Any]]:
    out = []
    for name, case, dec, key, value in malformed_records():
        _, cls, reason = python_outcome(dec, key, value)
        assert cls, name
        expected = jvm_class(cls)
        out.append(
            {
                "name": name,
                "case": case,
                "decoder": dec,
                "key_b64": b64(key),
                "value_b64": b64(value),
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
        got, cls, _ = python_outcome("default", None, value)
        out.append(
            {
                "name": f"fuzz_{i}",
                "value_b64": b64(value),
                "event": event_json(got) if not cls else None,
                "error_class": jvm_class(cls) if cls else None,
            }
        )
    return out


def generate() -> str:
    """The vectors file's text (deterministic)."""
    doc = {
        "comment": "generated by tests/unit/test_jvm_decode_vectors.py; do not edit by hand",
        "now_ms": NOW_MS,
        "max_future_ms": MAX_FUTURE_MS,
        "schemas": {n: s.json for n, s in SCHEMAS.items()},
        "fingerprints": {n: s.fingerprint.hex() for n, s in SCHEMAS.items()},
        "decoders": DECODERS,
        "valid": _valid(),
        "malformed": _malformed(),
        "fuzz": _fuzz(),
        "dead_letter_json": dead_letters(),
        "late_json": lates(),
        "float_repr": float_reprs(),
        "bytes_repr": bytes_reprs(),
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
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else RESOURCES  # another resources dir
    for path, text in ((VECTORS_PATH, generate()), (METRICS_PATH, generate_metrics())):
        out = root / path.relative_to(RESOURCES)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"wrote {out}")
