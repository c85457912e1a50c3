"""Strict structure check of an Avro binary body: what fastavro reads leniently is a bad record.

fastavro accepts varints longer than a long (10 bytes) or an int (5 bytes) and silently drops the
bits beyond 64 / 32, and takes a negative union index as a Python index from the end (case H24).
The JVM decoder (``jvm/.../decode/StrictBinaryDecoder.java``) rejects both; this module makes the
Python codec (:class:`userpulse.schemas.codec.Decoder`: backfill, bench, reference checks) agree,
with the
same reasons (byte offsets in the record value):

- a long takes at most 10 bytes and 64 bits, an int at most 5 bytes and 32 bits. Non-minimal
  encodings within those bounds are accepted: the Avro specification does not forbid them
  (Avro 1.12 specification, "Binary Encoding"; AVRO-3307 asks for it and is open);
- string / bytes lengths and block byte sizes are non-negative and fit in the bytes left; a block
  count may not exceed the bytes left; union and enum indexes are in range; booleans are 0 or 1;
  strings are strict UTF-8.

The check walks the body in byte order and stops at the first fault, as the JVM does, so both
sides name the same fault. Trailing bytes stay :class:`~userpulse.schemas.codec.Decoder`'s check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PREFIX = "avro body unreadable: "


class AvroFault(Exception):
    """A body that is not valid Avro for its writer schema; ``str(exc)`` is the reason.

    Attributes:
        error_class: ``bad_avro``, or ``UnicodeDecodeError`` for a string that is not strict
            UTF-8 (the codec's name for it, ``bad_utf8`` on the JVM).
    """

    def __init__(self, reason: str, error_class: str = "bad_avro") -> None:
        super().__init__(reason)
        self.error_class = error_class


class _Cursor:
    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos, self.end = buf, pos, len(buf)

    def varint(self, max_bytes: int, last_max: int, what: str, bits: int) -> int:
        start, raw, buf = self.pos, 0, self.buf
        for i in range(max_bytes):
            if self.pos >= self.end:
                raise AvroFault(f"{PREFIX}truncated in a varint at byte {start}")
            b = buf[self.pos]
            self.pos += 1
            if i == max_bytes - 1 and b > last_max:
                raise AvroFault(
                    f"{PREFIX}overlong {what} varint at byte {start} (more than {bits} bits)"
                )
            raw |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                return (raw >> 1) ^ -(raw & 1)
        raise AssertionError("unreachable: the last byte is checked above")

    def read_long(self) -> int:
        return self.varint(10, 0x01, "long", 64)

    def read_int(self) -> int:
        return self.varint(5, 0x0F, "int", 32)

    def skip(self, n: int, what: str, at: int) -> None:
        if n < 0:
            raise AvroFault(f"{PREFIX}negative {what} length {n} at byte {at}")
        left = self.end - self.pos
        if n > left:
            raise AvroFault(
                f"{PREFIX}truncated: {what} length {n} at byte {at} exceeds the {left} bytes left"
            )
        self.pos += n

    def length_prefixed(self, what: str) -> None:
        at = self.pos
        self.skip(self.read_long(), what, at)

    def string(self) -> None:
        at = self.pos
        n = self.read_long()
        start = self.pos
        self.skip(n, "string", at)
        try:
            self.buf[start : self.pos].decode("utf-8")  # strict: no surrogates, no overlong forms
        except UnicodeDecodeError as exc:
            bad = start + exc.start
            raise AvroFault(
                f"{PREFIX}invalid UTF-8 in a string at byte {bad} (0x{self.buf[bad]:02x})",
                "UnicodeDecodeError",
            ) from None


_Check = Callable[[_Cursor], None]


def _index(c: _Cursor, n: int, what: str) -> int:
    at = c.pos
    i = c.read_int()
    if i < 0:
        raise AvroFault(f"{PREFIX}negative {what} index {i} at byte {at}")
    if i >= n:
        raise AvroFault(f"{PREFIX}{what} index {i} out of range before byte {c.pos}")
    return i


def _blocks(item: _Check) -> _Check:
    def check(c: _Cursor) -> None:
        while True:
            at = c.pos
            n = c.read_long()
            if n == 0:
                return
            if n < 0:
                n = -n
                c_at = c.pos
                size = c.read_long()
                c.skip(size, "block", c_at)
                c.pos -= size  # the size is checked, the items are walked one by one
            if n > c.end - c.pos:
                raise AvroFault(f"{PREFIX}block count {n} at byte {at} exceeds the bytes left")
            for _ in range(n):
                item(c)

    return check


def _boolean(c: _Cursor) -> None:
    if c.pos >= c.end:
        raise AvroFault(f"{PREFIX}truncated at byte {c.pos} (1 bytes needed, 0 left)")
    if c.buf[c.pos] > 1:
        raise AvroFault(f"{PREFIX}boolean byte {c.buf[c.pos]} at byte {c.pos}")
    c.pos += 1


def _int(c: _Cursor) -> None:
    c.read_int()


def _long(c: _Cursor) -> None:
    c.read_long()


def _fixed(n: int) -> _Check:
    def check(c: _Cursor) -> None:
        if n > c.end - c.pos:
            raise AvroFault(
                f"{PREFIX}truncated at byte {c.pos} ({n} bytes needed, {c.end - c.pos} left)"
            )
        c.pos += n

    return check


_PRIMITIVES: dict[str, _Check] = {
    "null": lambda c: None,
    "boolean": _boolean,
    "int": _int,
    "long": _long,
    "float": _fixed(4),
    "double": _fixed(8),
    "string": lambda c: c.string(),
    "bytes": lambda c: c.length_prefixed("bytes"),
}


def compile_check(schema: Any) -> Callable[[bytes, int], None]:
    """A checker of bodies written with ``schema`` (Avro JSON: dict / list / str).

    Args:
        schema: the writer schema as JSON; named types may be referenced by (full) name after
            their definition.

    Returns:
        ``check(data, offset)``: walks ``data[offset:]`` as one value of ``schema``.
        It raises :class:`AvroFault` for the faults above; ``data`` is the whole record value so
        that byte offsets in reasons are those of the record (as the JVM's).
    """
    named: dict[str, _Check] = {}

    def build(s: Any, ns: str) -> _Check:
        if isinstance(s, list):
            branches = [build(b, ns) for b in s]
            return lambda c: branches[_index(c, len(branches), "union")](c)
        if isinstance(s, str):
            if s in _PRIMITIVES:
                return _PRIMITIVES[s]
            full = s if "." in s or not ns else f"{ns}.{s}"
            ref = named.get(full) or named[s]
            return lambda c: ref(c)
        t = s["type"]
        if t in _PRIMITIVES:
            return _PRIMITIVES[t]
        if t in ("record", "error", "enum", "fixed"):
            name = s["name"]
            space = s.get("namespace", ns) if "." not in name else name.rsplit(".", 1)[0]
            full = name if "." in name or not space else f"{space}.{name}"
            slot: list[_Check] = []
            named[full] = lambda c: slot[0](c)  # recursive types refer to themselves
            if t == "enum":
                k = len(s["symbols"])

                def enum(c: _Cursor) -> None:
                    _index(c, k, "enum")

                slot.append(enum)
            elif t == "fixed":
                slot.append(_fixed(int(s["size"])))
            else:
                fields = [build(f["type"], space) for f in s["fields"]]

                def record(c: _Cursor) -> None:
                    for f in fields:
                        f(c)

                slot.append(record)
            return named[full]
        if t == "array":
            return _blocks(build(s["items"], ns))
        if t == "map":
            value = build(s["values"], ns)

            def entry(c: _Cursor) -> None:
                c.string()
                value(c)

            return _blocks(entry)
        return build(t, ns)  # {"type": "long", "logicalType": ...} or {"type": <named>}

    root = build(schema, "")

    def check(data: bytes, offset: int) -> None:
        root(_Cursor(data, offset))

    return check
