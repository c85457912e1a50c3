"""The backfill as a Flink batch job: the same engine, partitioned by user (PyFlink DataStream).

Graph (``RuntimeExecutionMode.BATCH``)::

    events  (JSON lines, FileSource) ─┐ parse, bucket = crc32(user_id) mod B
                                      ├─► key_by(bucket) ─► BucketBackfill ─► JSON lines (FileSink)
    labels  (JSON lines, FileSource) ─┘

Every feature is per user, so users split into B buckets that are independent backfills. In batch
mode Flink sorts the input by key and holds the state of one bucket at a time; when a bucket's
input ends its event-time timer fires and :func:`userpulse.backfill.backfill` (the embedded engine,
the same definitions) answers the bucket's labels. Each output line is the label's ``_row`` number
plus its feature and status columns; the driver (:mod:`userpulse.backfill.flink_run`) puts them
back next to the labels. Event lines hold :class:`userpulse.events.Event` fields; label lines
``_row``, ``user_id`` (string) and ``as_of_ms`` (UTC epoch ms).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from pyflink.common import Types, WatermarkStrategy
from pyflink.common.serialization import Encoder
from pyflink.datastream import RuntimeExecutionMode, StreamExecutionEnvironment
from pyflink.datastream.connectors.file_system import FileSink, FileSource, StreamFormat
from pyflink.datastream.functions import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ListStateDescriptor

ROW = "_row"
"""Label line field: the label's position in the label file."""
_END_OF_INPUT_MS = 2**62
_BUCKET_LINE = Types.TUPLE([Types.INT(), Types.STRING()])


def bucket_of(user_id: str, buckets: int) -> int:
    """The bucket of ``user_id``: CRC-32 of its UTF-8 bytes mod ``buckets`` (stable everywhere)."""
    return zlib.crc32(user_id.encode("utf-8", "surrogatepass")) % buckets


def _tag(kind: str, buckets: int) -> Any:
    def tag(line: str) -> tuple[int, str]:
        return bucket_of(str(json.loads(line)["user_id"]), buckets), kind + line

    return tag


class BucketBackfill(KeyedProcessFunction):  # type: ignore[misc]
    """Collects one bucket's event and label lines; answers the labels when its input ends.

    Args:
        features: feature names (None: all).
        now_ms: the run's clock for the event-time sanity rule, UTC epoch ms.
        max_future_ms: how far ahead of ``now_ms`` an event may be, ms (``max_future_ms``).
    """

    def __init__(self, features: list[str] | None, now_ms: int, max_future_ms: int) -> None:
        self.features = features
        self.now_ms = now_ms
        self.max_future_ms = max_future_ms

    def open(self, runtime_context: RuntimeContext) -> None:
        self.lines = runtime_context.get_list_state(ListStateDescriptor("lines", Types.STRING()))

    def process_element(self, value: tuple[int, str], ctx: KeyedProcessFunction.Context) -> None:
        self.lines.add(value[1])
        ctx.timer_service().register_event_time_timer(_END_OF_INPUT_MS)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[str]:
        from userpulse.backfill import backfill
        from userpulse.backfill.columns import EVENT_SCHEMA

        events: list[dict[str, Any]] = []
        labels: list[dict[str, Any]] = []
        for line in self.lines.get():
            (events if line[0] == "e" else labels).append(json.loads(line[1:]))
        self.lines.clear()
        if not labels:
            return
        ev = pa.Table.from_pylist(events, schema=EVENT_SCHEMA)
        lab = pa.table(
            {
                ROW: pa.array([r[ROW] for r in labels], pa.int64()),
                "user_id": pa.array([str(r["user_id"]) for r in labels], pa.string()),
                "as_of_ms": pa.array([r["as_of_ms"] for r in labels], pa.int64()),
            }
        )
        out = backfill(
            ev, lab, self.features, now_ms=self.now_ms, max_future_ms=self.max_future_ms
        ).table
        out = out.drop(["user_id", "as_of_ms"])
        for row in out.to_pylist():
            yield json.dumps(row, separators=(",", ":"))


def build(
    env: StreamExecutionEnvironment,
    events_path: str,
    labels_path: str,
    out_dir: str,
    features: list[str] | None,
    buckets: int,
    now_ms: int,
    max_future_ms: int,
) -> None:
    """Wire the batch backfill on ``env`` (not executed). Paths are file URIs or plain paths that
    every TaskManager can read (events / labels: a JSON-lines file or a folder of them)."""
    env.set_runtime_mode(RuntimeExecutionMode.BATCH)
    lines = StreamFormat.text_line_format()
    no_wm = WatermarkStrategy.no_watermarks()
    events = env.from_source(
        FileSource.for_record_stream_format(lines, events_path).build(), no_wm, "events"
    ).map(_tag("e", buckets), output_type=_BUCKET_LINE)
    labels = env.from_source(
        FileSource.for_record_stream_format(lines, labels_path).build(), no_wm, "labels"
    ).map(_tag("l", buckets), output_type=_BUCKET_LINE)
    out = (
        events.union(labels)
        .key_by(lambda x: x[0], key_type=Types.INT())
        .process(BucketBackfill(features, now_ms, max_future_ms), output_type=Types.STRING())
        .name("backfill per bucket")
    )
    sink = FileSink.for_row_format(out_dir, Encoder.simple_string_encoder()).build()
    out.sink_to(sink).name("JSON lines")


def main(argv: list[str] | None = None) -> None:
    """The program ``flink run -py`` submits: ``--events``, ``--labels``, ``--out``, ``--buckets``,
    ``--now-ms``, ``--max-future-ms``, ``--features`` (comma-separated, empty = all),
    ``--job-name``."""
    import argparse

    ap = argparse.ArgumentParser()
    for flag in ("--events", "--labels", "--out", "--job-name"):
        ap.add_argument(flag, required=True)
    ap.add_argument("--buckets", type=int, required=True)
    ap.add_argument("--now-ms", type=int, required=True)
    ap.add_argument("--max-future-ms", type=int, required=True)
    ap.add_argument("--features", default="")
    a = ap.parse_args(argv)
    env = StreamExecutionEnvironment.get_execution_environment()
    names = [n for n in a.features.split(",") if n] or None
    build(env, a.events, a.labels, a.out, names, a.buckets, a.now_ms, a.max_future_ms)
    env.execute(a.job_name)


if __name__ == "__main__":
    main()
