"""Where backfill events and labels come from, and where the output goes.

Event sources (``--events``):

- ``ebnerd`` / ``globo`` / ``otto`` (or ``replay:NAME``): a recorded log in ``data_dir`` mapped by
  the replay producer's mapping (:func:`userpulse.producers.replay.read_dataset`, docs/replay.md);
- a ``.parquet`` / ``.csv`` file, a folder of them, or a glob: columns named like
  :class:`userpulse.events.Event` fields (:mod:`userpulse.backfill.columns`);
- ``kafka:TOPIC``: the topic from its beginning to its end when the read starts (bounded), decoded
  as the job decodes it (:func:`userpulse.schemas.registry.job_decoder`: both framings, the registry
  of the
  settings, the reader schema of ``schema_dir``); records that do not decode are counted, as the
  job's dead-letter output would hold them, and a failing registry is waited for as the job does.

Labels: a Parquet or CSV file with ``user_id`` and ``as_of_ms`` (UTC epoch ms); CSV user ids are
read as strings so that ids like ``007`` stay as they are. Output: Parquet, or CSV where last-k
lists become JSON text.
"""

from __future__ import annotations

import glob
import json
import logging
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from userpulse.backfill.columns import EVENT_SCHEMA, events_table
from userpulse.backfill.errors import BackfillError
from userpulse.settings import Settings

if TYPE_CHECKING:
    from userpulse.events import Event
    from userpulse.schemas.codec import Decoder

KAFKA_PREFIX = "kafka:"
_PARTITION_EOF = -191
REPLAY_PREFIX = "replay:"
LOG = logging.getLogger("userpulse.backfill")


def _files(spec: str) -> list[Path]:
    p = Path(spec)
    if p.is_dir():
        found = sorted(x for x in p.iterdir() if x.suffix in (".parquet", ".csv"))
    else:
        found = sorted(Path(x) for x in glob.glob(spec)) if any(c in spec for c in "*?[") else [p]
    missing = [str(x) for x in found if not x.is_file()]
    if not found or missing:
        raise BackfillError(f"no event files at {spec!r}")
    return found


def read_table(path: Path, string_columns: tuple[str, ...] = ()) -> pa.Table:
    """A Parquet or CSV file as an Arrow table (``string_columns`` of a CSV read as strings).

    Raises:
        BackfillError: unknown suffix or unreadable file.
    """
    try:
        if path.suffix == ".parquet":
            return pq.read_table(path)
        if path.suffix == ".csv":
            types = {c: pa.string() for c in string_columns}
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    except (OSError, pa.ArrowInvalid) as exc:
        raise BackfillError(f"cannot read {path}: {exc}") from exc
    raise BackfillError(f"{path}: expected a .parquet or .csv file")


def read_events(
    spec: str, data_dir: Path | None = None, settings: Settings | None = None
) -> tuple[pa.Table, dict[str, int]]:
    """The event table of source ``spec`` and the records that did not decode (Kafka), by class.

    Raises:
        BackfillError: an unknown dataset, missing files, an unreachable or unknown topic.
    """
    from userpulse.producers.replay import DATASETS, DatasetError, read_dataset

    name = spec.removeprefix(REPLAY_PREFIX)
    if spec.startswith(REPLAY_PREFIX) or spec in DATASETS:
        try:
            folder = data_dir or (settings or Settings()).replay_data_dir
            return events_table(read_dataset(name, folder).events), {}
        except DatasetError as exc:
            raise BackfillError(str(exc)) from None
    if spec.startswith(KAFKA_PREFIX):
        return read_topic(settings or Settings(), spec.removeprefix(KAFKA_PREFIX))
    strings = ("event_id", "user_id", "session_id", "item_id", "device", "surface")
    tables = [read_table(f, strings) for f in _files(spec)]
    return pa.concat_tables(tables, promote_options="permissive"), {}


def read_topic(
    s: Settings, topic: str, timeout_s: float = 600.0
) -> tuple[pa.Table, dict[str, int]]:
    """Every record of ``topic`` from its beginning to its end when called (all partitions).

    Records that do not decode, or whose key is not the user id, are counted by error class.
    Both framings are read as the job reads them (:func:`userpulse.schemas.registry.job_decoder`):
    single-object with the job's writer schemas (else the registry subject's), Confluent through
    ``s.registry_url`` when a registry is configured, resolved into the reader schema of
    ``s.schema_dir``. A failing registry is retried as by the job (:func:`_decode_waiting`).

    Raises:
        BackfillError: the topic does not exist, or the read (including waits for the schema
            registry) does not finish within ``timeout_s``.
    """
    from confluent_kafka import Consumer, TopicPartition

    from userpulse import kafka_conf
    from userpulse.schemas.codec import DecodeError, RecordCoordinates
    from userpulse.schemas.registry import job_decoder

    conf = {
        **kafka_conf.librdkafka_config(s),
        "bootstrap.servers": s.kafka_bootstrap,
        "group.id": "backfill." + uuid.uuid4().hex,
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    }
    c = Consumer(conf)
    try:
        meta = c.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            raise BackfillError(f"topic {topic!r} not found on {s.kafka_bootstrap}")
        ends: dict[int, int] = {}
        starts: list[Any] = []
        for p in meta.partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if hi > lo:
                ends[p] = hi
                starts.append(TopicPartition(topic, p, lo))
        c.assign(starts)
        decoder = job_decoder(s)
        events: list[Any] = []
        bad = Counter[str]()
        deadline = time.monotonic() + timeout_s
        while ends:
            if time.monotonic() > deadline:
                raise BackfillError(f"reading {topic!r} took longer than {timeout_s:.0f} s")
            for m in c.consume(10_000, timeout=1.0):
                p, off, err = int(m.partition() or 0), int(m.offset() or 0), m.error()
                end = ends.get(p)
                if err is not None:  # end of partition (control records may end it)
                    if err.code() == _PARTITION_EOF:
                        ends.pop(p, None)
                    continue
                if end is None or off >= end:
                    continue
                if off >= end - 1:
                    del ends[p]
                value = m.value()
                if value is None:
                    continue
                try:
                    e = _decode_waiting(decoder, value, RecordCoordinates(topic, p, off), deadline)
                except DecodeError as exc:
                    if not bad[exc.error_class]:
                        LOG.warning("first undecodable record of its class: %s", exc)
                    bad[exc.error_class] += 1
                    continue
                key = m.key()
                if key is not None and key != e.user_id.encode("utf-8"):
                    bad["key_mismatch"] += 1
                    continue
                events.append(e)
    finally:
        c.close()
    return events_table(events), dict(bad)


def _decode_waiting(decoder: Decoder, value: bytes, where: Any, deadline: float) -> Event:
    """``decoder.decode(value, where)``; a failing schema registry is not a bad record: the same
    record is tried again after 0.1 s, doubling to 5 s (the job's ``DecodeFunction`` backoff),
    until ``deadline`` (``time.monotonic()``, s).

    Raises:
        DecodeError: the record does not decode.
        BackfillError: the registry still fails at ``deadline``.
    """
    from userpulse.schemas.registry import RegistryError

    pause = 0.1
    while True:
        try:
            return decoder.decode(value, where)
        except RegistryError as exc:
            if time.monotonic() + pause > deadline:
                raise BackfillError(f"reading {where}: {exc}") from None
            LOG.warning("%s; trying again in %.1f s", exc, pause)
            time.sleep(pause)
            pause = min(2 * pause, 5.0)


def read_labels(path: Path) -> pa.Table:
    """The label table (``user_id`` of a CSV read as strings)."""
    return read_table(path, ("user_id",))


def write_output(table: pa.Table, path: Path) -> None:
    """Write the labelled table: Parquet (``.parquet``) or CSV (``.csv``; lists as JSON text).

    Raises:
        BackfillError: another suffix.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pq.write_table(table, path)
        return
    if path.suffix != ".csv":
        raise BackfillError(f"{path}: the output must end in .parquet or .csv")
    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_list(col.type):
            texts = [None if v is None else json.dumps(v) for v in col.to_pylist()]
            col = pa.chunked_array([pa.array(texts, type=pa.string())])
        elif pa.types.is_dictionary(col.type):
            col = pc.cast(col, pa.string())
        cols.append(col)
    pacsv.write_csv(pa.table(cols, names=table.column_names), path)


__all__ = ["EVENT_SCHEMA", "read_events", "read_labels", "read_table", "write_output"]
