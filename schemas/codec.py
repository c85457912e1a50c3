"""Avro codec for events: the wire contract of design section 3, in one module.

Framings (the writer schema is always identified, so evolution works):

- single-object (default, registry-free): ``C3 01`` + 8-byte CRC-64-AVRO fingerprint of the writer
  schema's Parsing Canonical Form (little-endian) + Avro binary body. Source: Avro 1.11
  specification, "Single-object encoding".
- Confluent wire format (when a Schema Registry is configured): ``00`` + 4-byte big-endian schema id
  + Avro binary body. Source: Confluent docs, "Wire format".
- schemaless: plain Avro binary, accepted only with an explicitly configured writer schema.

Decoding never raises anything but :class:`DecodeError`; generic faults inside the Avro reader
(IndexError, EOFError, UnicodeDecodeError, ...) are wrapped with their class name (case H07). What
fastavro reads leniently (varints beyond 64 / 32 bits, negative union indexes) is ``bad_avro``
(:mod:`userpulse.schemas.strict`, case H24), as on the JVM. The decoder must consume every byte of
the
record; trailing bytes are an error (case H10).
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any, NamedTuple

import fastavro
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from userpulse.errors import UserpulseError
from userpulse.events import Event, EventType
from userpulse.schemas import strict

SCHEMA_DIR = Path(__file__).resolve().parent
SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
DEFAULT_MAX_RECORD_BYTES = 65_536

_PAYLOAD_NAMES = {
    EventType.CLICK: "userpulse.Click",
    EventType.SCROLL: "userpulse.Scroll",
    EventType.HOVER: "userpulse.Hover",
}
_TYPE_BY_PAYLOAD = {v: k for k, v in _PAYLOAD_NAMES.items()}


class RecordCoordinates(NamedTuple):
    """Where a Kafka record is: topic, partition, offset (``str``: ``topic[partition]@offset``)."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class DecodeError(UserpulseError):
    """A record that cannot become an :class:`Event`.

    Attributes:
        reason: human-readable reason, starting with the failing part.
        error_class: short class of the fault (``bad_framing``, ``unknown_schema``, ``bad_avro``,
            ``trailing_bytes``, ``too_large``, ``empty``, ``IndexError``...).
        where: the record's topic, partition and offset when the caller passed them to
            :meth:`Decoder.decode` (as confluent-kafka's errors carry their message), else None.
        value: the record value's bytes, with ``where`` (to dead-letter it as it was), else None.
    """

    def __init__(
        self,
        error_class: str,
        reason: str,
        where: RecordCoordinates | None = None,
        value: bytes | None = None,
    ) -> None:
        at = f" (record {where})" if where is not None else ""
        super().__init__(f"{error_class}: {reason}{at}")
        self.error_class = error_class
        self.reason = reason
        self.where = where
        self.value = value


def _strip_logical_types(node: Any) -> Any:
    """Copy of a JSON schema without ``logicalType`` (same canonical form; ints stay ints)."""
    if isinstance(node, dict):
        return {k: _strip_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_strip_logical_types(v) for v in node]
    return node


def load_schema_json(directory: Path = SCHEMA_DIR) -> dict[str, Any]:
    """The event schema from ``directory`` with the named payload records inlined.

    Args:
        directory: folder holding ``click.avsc``, ``scroll.avsc``, ``hover.avsc``, ``event.avsc``.

    Returns:
        A self-contained JSON schema (dict) of ``userpulse.Event``.
    """
    parts = {
        n: json.loads((directory / f"{n}.avsc").read_text()) for n in ("click", "scroll", "hover")
    }
    event = json.loads((directory / "event.avsc").read_text())
    by_name = {f"{p['namespace']}.{p['name']}": p for p in parts.values()}
    for field in event["fields"]:
        if field["name"] == "payload":
            field["type"] = [by_name[n] for n in field["type"]]
    return event


@dataclass(frozen=True)
class WriterSchema:
    """A parsed writer schema and its identities.

    Attributes:
        json: the schema as JSON (dict).
        parsed: fastavro-parsed schema (logical types stripped; event_time stays an int of ms).
        fingerprint: 8 bytes, CRC-64-AVRO of the Parsing Canonical Form, little-endian.
        check: strict structure check of a body written with it (:mod:`userpulse.schemas.strict`).
    """

    json: dict[str, Any]
    parsed: Any
    fingerprint: bytes
    check: Callable[[bytes, int], None] = dc_field(compare=False, repr=False)

    @classmethod
    def from_json(cls, schema: dict[str, Any]) -> WriterSchema:
        """Parse ``schema`` and compute its fingerprint."""
        stripped = _strip_logical_types(schema)
        # parsed once with fastavro's hint, so readers and writers never re-parse per record
        parsed = parse_schema(stripped)
        canonical = to_parsing_canonical_form(parse_schema(stripped, _write_hint=False))
        fp = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
        return cls(schema, parsed, fp, strict.compile_check(stripped))


CURRENT = WriterSchema.from_json(load_schema_json())
"""The event schema this build writes and reads into."""

RELEASED_DIR = SCHEMA_DIR / "released"


def released_schemas(directory: Path = RELEASED_DIR) -> list[WriterSchema]:
    """The released versions of the event schema, oldest first: one numbered folder each
    (``schemas/released/1/``, ...) holding the four ``.avsc`` files as released.

    The job knows them as writer schemas, so a new job reads data of older producers without a
    registry (single-object framing); ``SchemaCompatibilityTest`` checks ``schemas/`` against the
    newest one with the BACKWARD rule.
    """
    if not directory.is_dir():
        return []
    folders = sorted(
        (d for d in directory.iterdir() if d.name.isdigit()), key=lambda d: int(d.name)
    )
    return [WriterSchema.from_json(load_schema_json(d)) for d in folders]


def reader_schema(schema_dir: Path | None = None) -> WriterSchema:
    """The job's reader schema: the ``.avsc`` files of ``schema_dir`` (the ``schema_dir``
    setting), else this build's (:data:`CURRENT`)."""
    return CURRENT if schema_dir is None else WriterSchema.from_json(load_schema_json(schema_dir))


def job_writers(reader: WriterSchema) -> list[WriterSchema]:
    """The writer schemas the job knows without a registry, one per fingerprint: the reader,
    this build's schema and every released one (the ``avro.writers`` of the job spec)."""
    out: dict[bytes, WriterSchema] = {}
    for w in (reader, CURRENT, *released_schemas()):
        out.setdefault(w.fingerprint, w)
    return list(out.values())


def event_to_record(event: Event) -> dict[str, Any]:
    """The Avro record (dict) of ``event`` for the current schema."""
    if event.event_type is EventType.CLICK:
        payload: dict[str, Any] = {"position": event.position}
    elif event.event_type is EventType.SCROLL:
        payload = {"scroll_depth": event.scroll_depth, "scroll_px": event.scroll_px}
    else:
        payload = {"dwell_ms": event.dwell_ms}
    return {
        "event_id": event.event_id,
        "user_id": event.user_id,
        "event_time": event.event_time_ms,
        "session_id": event.session_id,
        "item_id": event.item_id,
        "device": event.device,
        "surface": event.surface,
        "row": event.row,
        "payload": (_PAYLOAD_NAMES[event.event_type], payload),
    }


def record_to_event(rec: Mapping[str, Any]) -> Event:
    """The :class:`Event` of a decoded record (read with ``return_record_name=True``)."""
    name, payload = rec["payload"]
    etype = _TYPE_BY_PAYLOAD[name]
    return Event(
        event_id=rec["event_id"],
        event_type=etype,
        user_id=rec["user_id"],
        event_time_ms=rec["event_time"],
        session_id=rec["session_id"],
        item_id=rec.get("item_id"),
        device=rec.get("device"),
        surface=rec.get("surface"),
        row=rec.get("row"),
        position=payload.get("position"),
        dwell_ms=payload.get("dwell_ms"),
        scroll_depth=payload.get("scroll_depth"),
        scroll_px=payload.get("scroll_px"),
    )


def encode_body(event: Event, schema: WriterSchema = CURRENT) -> bytes:
    """Plain Avro binary of ``event`` (no framing)."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema.parsed, event_to_record(event))
    return buf.getvalue()


def encode(event: Event, schema: WriterSchema = CURRENT) -> bytes:
    """Single-object encoding of ``event``: ``C3 01`` + fingerprint + body."""
    return SINGLE_OBJECT_MAGIC + schema.fingerprint + encode_body(event, schema)


@dataclass(frozen=True)
class SingleObjectEncoder:
    """Event -> single-object encoding with ``schema`` (a producer on another schema version
    than this build's, the ``schema_dir`` setting)."""

    schema: WriterSchema

    def __call__(self, event: Event) -> bytes:
        """The record value of ``event``."""
        return encode(event, self.schema)


def encode_confluent(event: Event, schema_id: int, schema: WriterSchema = CURRENT) -> bytes:
    """Confluent wire format: ``00`` + big-endian ``schema_id`` (0..2**31-1) + body.

    Raises:
        ValueError: ``schema_id`` out of range.
    """
    if not 0 <= schema_id < 2**31:
        raise ValueError(f"schema_id must be 0..2**31-1, got {schema_id}")
    return CONFLUENT_MAGIC + struct.pack(">I", schema_id) + encode_body(event, schema)


class Decoder:
    """Bytes -> :class:`Event`, raising only :class:`DecodeError`.

    Args:
        known: writer schemas the decoder may meet (single-object framing), by fingerprint. The
            current schema is always known. Add past versions here for evolution.
        reader: the schema events are resolved into (default: the current one).
        schema_by_id: Confluent framing: resolves a registry id to a :class:`WriterSchema`
            (for example a Schema Registry client lookup); it may raise ``KeyError`` for an
            unknown id (-> ``unknown_schema``). Any other exception propagates: a registry outage
            is not a bad record (case H09).
        schema_by_fingerprint: single-object framing: a writer schema for a fingerprint that
            ``known`` lacks (for example the registry subject's schemas), or None (->
            ``unknown_schema``); exceptions propagate as for ``schema_by_id``.
        schemaless: explicitly configured writer schema for plain Avro records; when set, records
            without a recognised header are read with it.
        max_record_bytes: larger values are rejected as ``too_large``.
    """

    def __init__(
        self,
        known: list[WriterSchema] | None = None,
        reader: WriterSchema = CURRENT,
        schema_by_id: Callable[[int], WriterSchema] | None = None,
        schemaless: WriterSchema | None = None,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        schema_by_fingerprint: Callable[[bytes], WriterSchema | None] | None = None,
    ) -> None:
        self._by_fp = {s.fingerprint: s for s in [CURRENT, *(known or [])]}
        self._reader = reader
        self._schema_by_id = schema_by_id
        self._schema_by_fp = schema_by_fingerprint
        self._schemaless = schemaless
        self._max = max_record_bytes

    def _writer_and_offset(self, data: bytes) -> tuple[WriterSchema, int]:
        if data[:2] == SINGLE_OBJECT_MAGIC:
            if len(data) < 10:
                raise DecodeError(
                    "bad_framing", f"single-object header truncated ({len(data)} bytes)"
                )
            fp = data[2:10]
            writer = self._by_fp.get(fp)
            if writer is None and self._schema_by_fp is not None:
                writer = self._schema_by_fp(fp)
            if writer is None:
                raise DecodeError("unknown_schema", f"unknown writer schema fingerprint {fp.hex()}")
            return writer, 10
        if data[:1] == CONFLUENT_MAGIC and self._schema_by_id is not None:
            if len(data) < 5:
                raise DecodeError("bad_framing", f"confluent header truncated ({len(data)} bytes)")
            (schema_id,) = struct.unpack(">I", data[1:5])
            try:
                return self._schema_by_id(schema_id), 5
            except KeyError:
                raise DecodeError("unknown_schema", f"unknown schema id {schema_id}") from None
        if self._schemaless is not None:
            return self._schemaless, 0
        raise DecodeError("bad_framing", f"no known framing, first bytes {data[:4].hex()}")

    def decode(self, data: bytes, where: RecordCoordinates | None = None) -> Event:
        """Decode one record value.

        Args:
            data: the Kafka record value (not None: tombstones are handled by the caller).
            where: the record's topic, partition and offset, carried by a :class:`DecodeError`
                (with ``data``).

        Raises:
            DecodeError: for every fault of the bytes (framing, unknown schema, Avro, trailing
                bytes, size, empty). Registry outages (from ``schema_by_id``) propagate as-is.
        """
        if where is None:
            return self._decode(data)
        try:
            return self._decode(data)
        except DecodeError as e:
            raise DecodeError(e.error_class, e.reason, where, data) from None

    def _decode(self, data: bytes) -> Event:
        if not data:
            raise DecodeError("empty", "record value has zero bytes")
        if len(data) > self._max:
            raise DecodeError("too_large", f"{len(data)} bytes > {self._max}")
        writer, offset = self._writer_and_offset(data)
        if offset == len(data):
            raise DecodeError("bad_avro", "framing header with no body")
        try:  # what fastavro reads leniently: overlong varints, negative indexes (case H24)
            writer.check(data, offset)  # first: the first fault in byte order, as on the JVM
        except strict.AvroFault as exc:
            raise DecodeError(exc.error_class, str(exc)) from None
        fo = io.BytesIO(data)
        fo.seek(offset)
        reader = None if writer is self._reader else self._reader.parsed
        try:
            rec = fastavro.schemaless_reader(fo, writer.parsed, reader, return_record_name=True)
        except Exception as exc:  # any fault of the bytes is a bad record (case H07)
            raise DecodeError(type(exc).__name__, f"avro body unreadable: {exc}") from None
        if fo.tell() != len(data):
            raise DecodeError(
                "trailing_bytes", f"{len(data) - fo.tell()} bytes left after the record"
            )
        try:
            return record_to_event(rec)  # type: ignore[arg-type]
        except Exception as exc:
            raise DecodeError(
                type(exc).__name__, f"record does not fit the event model: {exc}"
            ) from None
