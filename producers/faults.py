"""Injected faults for load runs: out-of-order, late and malformed records, seeded.

:func:`inject` turns a stream of events into :class:`~userpulse.producers.pacing.RawRecord` values.
Each
event is, with the configured probabilities (drawn from a ``random.Random`` of its own, derived
from the seed, so the clean events are the same with or without faults):

- ``out_of_order``: event time moved back by U(1, ``out_of_orderness_ms``) ms: it arrives after
  newer events but within the watermark's bounded out-of-orderness, so the job still counts it.
- ``late``: event time moved back by ``out_of_orderness_ms + allowed_lateness_ms + 1 s`` plus
  U(0, 60 s): older than ``watermark - allowed_lateness`` once the job has seen current traffic on
  every partition, so it goes to the late topic (design section 4).
- ``malformed:<class>``: the value is replaced by bad bytes of one of :data:`MALFORMED_KINDS`
  (chosen uniformly), under the event's key. Each kind names the ``DecodeError.error_class`` (or
  validation reason) the job's decoder gives it (``schemas/codec.py``, ``userpulse/events.py``):

  ============== ===================================================== ==========================
  kind           bytes                                                 job's error class
  ============== ===================================================== ==========================
  bad_framing    ``07`` + 12 random bytes (no known magic)             ``bad_framing``
  unknown_schema ``C3 01`` + random 8-byte fingerprint + a valid body  ``unknown_schema``
  truncated      a valid record cut inside its body                    ``bad_avro``
  trailing_bytes a valid record + 2 extra bytes                        ``trailing_bytes``
  empty          zero bytes                                            ``empty``
  too_large      a valid header + 70,000 bytes (> 65,536)              ``too_large``
  bad_utf8       a valid record whose event_id bytes are not UTF-8     ``UnicodeDecodeError``
  time_seconds   a valid record with event_time in seconds             validation: out of range
  ============== ===================================================== ==========================

The fractions are of all records (an event is at most one of the three).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from userpulse.events import Event
from userpulse.producers.pacing import RawRecord
from userpulse.schemas import codec

MALFORMED_KINDS = (
    "bad_framing",
    "unknown_schema",
    "truncated",
    "trailing_bytes",
    "empty",
    "too_large",
    "bad_utf8",
    "time_seconds",
)
LATE_MARGIN_MS = 1_000
LATE_SPREAD_MS = 60_000
TOO_LARGE_BYTES = 70_000
_UTF8_MARK = "~~bad~utf8~~"
_FAULT_SEED_SALT = 0x5EED_FA17


@dataclass(frozen=True)
class FaultSpec:
    """Fractions of records to corrupt (each in [0, 1], sum <= 1) and the job's time bounds.

    Attributes:
        out_of_order: fraction sent out of order but within the out-of-orderness bound.
        late: fraction sent beyond the allowed lateness.
        malformed: fraction replaced by bad bytes.
        out_of_orderness_ms: the job's bounded out-of-orderness (settings.out_of_orderness_ms).
        allowed_lateness_ms: the job's allowed lateness (settings.allowed_lateness_ms).

    Raises:
        ValueError: a fraction outside [0, 1], or their sum above 1.
    """

    out_of_order: float = 0.0
    late: float = 0.0
    malformed: float = 0.0
    out_of_orderness_ms: int = 5_000
    allowed_lateness_ms: int = 600_000

    def __post_init__(self) -> None:
        fr = {"out_of_order": self.out_of_order, "late": self.late, "malformed": self.malformed}
        for name, v in fr.items():
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be a fraction in [0, 1], got {v}")
        if sum(fr.values()) > 1.0:
            raise ValueError(f"fault fractions add up to {sum(fr.values())} > 1")
        if self.out_of_orderness_ms < 1 or self.allowed_lateness_ms < 0:
            raise ValueError("out_of_orderness_ms must be >= 1 and allowed_lateness_ms >= 0")

    @property
    def any(self) -> bool:
        """True when some fraction is above zero."""
        return self.out_of_order > 0 or self.late > 0 or self.malformed > 0


def malformed_value(event: Event, kind: str, rng: random.Random) -> bytes:
    """Bad bytes of ``kind`` (one of :data:`MALFORMED_KINDS`) made from ``event``.

    Raises:
        ValueError: unknown ``kind``.
    """
    if kind == "bad_framing":
        return b"\x07" + rng.randbytes(12)
    if kind == "unknown_schema":
        return codec.SINGLE_OBJECT_MAGIC + rng.randbytes(8) + codec.encode_body(event)
    if kind == "truncated":
        good = codec.encode(event)
        return good[: rng.randrange(11, len(good) - 1)]
    if kind == "trailing_bytes":
        return codec.encode(event) + b"\x00\x01"
    if kind == "empty":
        return b""
    if kind == "too_large":
        return codec.encode(event)[:10] + bytes(TOO_LARGE_BYTES)
    if kind == "bad_utf8":
        good = codec.encode(event.replace(event_id=_UTF8_MARK))
        mark = _UTF8_MARK.encode()
        return good.replace(mark, b"\xff\xfe" + mark[2:], 1)
    if kind == "time_seconds":
        return codec.encode(event.replace(event_time_ms=event.event_time_ms // 1000))
    raise ValueError(f"unknown malformed kind {kind!r}; one of {', '.join(MALFORMED_KINDS)}")


def inject(events: Iterable[Event], spec: FaultSpec, seed: int) -> Iterator[RawRecord]:
    """Encode ``events`` as records, corrupting the fractions of ``spec``.

    Args:
        events: the clean stream (for example :meth:`SyntheticTraffic.events`).
        spec: fractions and time bounds.
        seed: the traffic's seed; faults draw from their own generator derived from it.

    Yields:
        One :class:`RawRecord` per event, keyed by the user id's UTF-8, with ``kind`` set.
    """
    rng = random.Random(seed * 1_000_003 + _FAULT_SEED_SALT)
    rnd = rng.random
    p_bad = spec.malformed
    p_late = p_bad + spec.late
    p_ooo = p_late + spec.out_of_order
    late_ms = spec.out_of_orderness_ms + spec.allowed_lateness_ms + LATE_MARGIN_MS
    encode = codec.encode
    for e in events:
        key = e.user_id.encode("utf-8", "surrogatepass")
        r = rnd() if p_ooo > 0 else 1.0
        if r >= p_ooo:
            yield RawRecord(key, encode(e), e.event_time_ms)
        elif r < p_bad:
            kind = MALFORMED_KINDS[rng.randrange(len(MALFORMED_KINDS))]
            yield RawRecord(key, malformed_value(e, kind, rng), None, f"malformed:{kind}")
        elif r < p_late:
            shifted = e.replace(
                event_time_ms=e.event_time_ms - late_ms - rng.randrange(LATE_SPREAD_MS)
            )
            yield RawRecord(key, encode(shifted), shifted.event_time_ms, "late")
        else:
            back = 1 + rng.randrange(spec.out_of_orderness_ms)
            shifted = e.replace(event_time_ms=e.event_time_ms - back)
            yield RawRecord(key, encode(shifted), shifted.event_time_ms, "out_of_order")
