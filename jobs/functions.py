"""PyFlink functions of the feature job. They unpack Flink types and delegate to the pure core.

- :class:`DecodeFunction`: bytes -> decoded tuple; bad records to the dead-letter side output.
- :class:`EventTimeAssigner`: event time from the payload (never the Kafka timestamp, case H02).
- :class:`TileFunction`: keyed by user; folds events into per-user tiles in MapState, stages
  absolute tile values to the Redis writer, routes late events to the late side output, frees
  tiles once the watermark has passed their retention.

Flush protocol (design section 5): every staged user gets a processing-time timer at the next
``flush_interval_ms`` boundary. Timers are checkpointed, so a user staged but not yet flushed when a
checkpoint is taken is rewritten from state after a restore (its timer fires in a fresh worker that
never flushed it). Writes are absolute and versioned, so rewriting is harmless.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from pyflink.common import Types
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import OutputTag
from pyflink.datastream.functions import KeyedProcessFunction, ProcessFunction, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor
from pyflink.datastream.time_domain import TimeDomain

from jobs import records
from schemas.codec import Decoder
from sinks.layout import ttl_s
from sinks.redis_writer import TileWriter
from userpulse import metrics
from userpulse.features import TILE_SIZES_MS, retention_tiles
from userpulse.settings import Settings
from userpulse.tiles import IDX_MAX_TIME, add_event, empty_tile

DEAD_LETTER_TAG = OutputTag("dead-letter", Types.STRING())
LATE_TAG = OutputTag("late", Types.STRING())
MAX_WATERMARK = 9_223_372_036_854_775_807  # Long.MAX_VALUE: end of input
CLEANUP_GRANULARITY_MS = 60_000


class DecodeFunction(ProcessFunction):
    """Row(k, v, topic, partition, offset) -> decoded tuple, or a dead-letter JSON side output."""

    def __init__(self, settings: Settings) -> None:
        self._max_future_ms = settings.max_future_ms
        self._metrics_port = settings.job_metrics_port
        self._decoder: Decoder | None = None

    def open(self, runtime_context: RuntimeContext) -> None:
        self._decoder = Decoder()
        metrics.serve(self._metrics_port)

    def process_element(self, row: Any, ctx: ProcessFunction.Context):  # type: ignore[no-untyped-def]
        metrics.EVENTS_IN.inc()
        value = row.v
        if value is None:
            metrics.TOMBSTONES.inc()
            return
        assert self._decoder is not None
        rec, err = records.decode_record(
            self._decoder,
            row.k,
            value,
            row.topic,
            row.partition,
            row.offset,
            int(time.time() * 1000),
            self._max_future_ms,
        )
        if err is not None:
            metrics.EVENTS_DEAD_LETTERED.labels(err[0]).inc()
            yield (
                DEAD_LETTER_TAG,
                records.dead_letter_json(
                    row.k, value, row.topic, row.partition, row.offset, err[0], err[1]
                ),
            )
            return
        yield rec


class EventTimeAssigner(TimestampAssigner):
    """Event time = the payload's ``event_time`` (UTC epoch ms)."""

    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        return int(value[2])


class TileFunction(KeyedProcessFunction):
    """Per-user tiles -> Redis; late events -> side output; state freed past retention."""

    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._lateness_ms = settings.allowed_lateness_ms
        self._interval_ms = settings.flush_interval_ms
        self._max_pending = settings.flush_max_pending
        self._retention_ms = {g: retention_tiles(g) * g + self._lateness_ms for g in TILE_SIZES_MS}
        self._writer: TileWriter | None = None
        self._done: set[str] = set()

    def open(self, runtime_context: RuntimeContext) -> None:
        self._tiles = runtime_context.get_map_state(
            MapStateDescriptor("tiles", Types.STRING(), Types.PICKLED_BYTE_ARRAY())
        )
        client = redis.Redis(host=self._s.redis_host, port=self._s.redis_port, db=self._s.redis_db)
        self._writer = TileWriter(
            client,
            ttl_s=self._s.redis_ttl_s or ttl_s(self._lateness_ms),
            on_retry=lambda _e: metrics.REDIS_RETRIES.inc(),
        )

    def close(self) -> None:
        if self._writer is not None:
            self._flush()

    def _flush(self) -> None:
        assert self._writer is not None
        t0 = time.perf_counter()
        self._done.update(self._writer.flush())
        metrics.WRITE_SECONDS.observe(time.perf_counter() - t0)

    def _cleanup_time(self, tile_ms: int, index: int) -> int:
        t = (index + 1) * tile_ms + self._retention_ms[tile_ms]
        return -(-t // CLEANUP_GRANULARITY_MS) * CLEANUP_GRANULARITY_MS

    def process_element(self, r: Any, ctx: KeyedProcessFunction.Context):  # type: ignore[no-untyped-def]
        et = r[2]
        ts = ctx.timer_service()
        wm = ts.current_watermark()
        if et < wm - self._lateness_ms:
            metrics.EVENTS_LATE.inc()
            yield LATE_TAG, records.late_json(r, wm, self._lateness_ms)
            return
        event = records.to_event(r)
        user = r[0]
        writer = self._writer
        assert writer is not None
        # one flush timer per user per flush cycle: a pending user already has one for its key
        needs_timer = not writer.is_pending(user)
        for g in TILE_SIZES_MS:
            k = et // g
            sk = f"{g}:{k}"
            tile = self._tiles.get(sk)
            if tile is None:
                tile = empty_tile()
                ts.register_event_time_timer(self._cleanup_time(g, k))
            add_event(tile, event)
            self._tiles.put(sk, tile)
            writer.stage_tile(user, g, k, tile)
        writer.stage_last_seen(user, et)
        metrics.EVENTS_COUNTED.inc()
        if needs_timer:
            now = ts.current_processing_time()
            ts.register_processing_time_timer((now // self._interval_ms + 1) * self._interval_ms)
        if writer.pending_users >= self._max_pending:
            self._flush()
        metrics.FRESHNESS_MS.observe(max(0, int(time.time() * 1000) - et))

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):  # type: ignore[no-untyped-def]
        writer = self._writer
        assert writer is not None
        user = ctx.get_current_key()
        if ctx.time_domain() == TimeDomain.PROCESSING_TIME:
            if writer.pending_users:
                self._flush()
            if user in self._done:
                self._done.discard(user)
            else:  # restored timer: this worker never wrote the user, rewrite from state
                self._restage_all(user)
                self._flush()
                self._done.discard(user)
            return
        if self._expire(user, timestamp, ctx.timer_service().current_watermark()):
            now = ctx.timer_service().current_processing_time()
            ctx.timer_service().register_processing_time_timer(
                (now // self._interval_ms + 1) * self._interval_ms
            )
        return
        yield  # generator protocol for PyFlink

    def _restage_all(self, user: str) -> None:
        assert self._writer is not None
        for sk, tile in self._tiles.items():
            g, k = (int(x) for x in sk.split(":"))
            self._writer.stage_tile(user, g, k, tile)
            if tile[IDX_MAX_TIME] is not None:
                self._writer.stage_last_seen(user, int(tile[IDX_MAX_TIME]))

    def _expire(self, user: str, timestamp: int, watermark: int) -> bool:
        """Free tiles past retention; stage their deletion. True when a write was staged."""
        expired: dict[int, list[int]] = {}
        for sk in list(self._tiles.keys()):
            g, k = (int(x) for x in sk.split(":"))
            if self._cleanup_time(g, k) <= timestamp:
                expired.setdefault(g, []).append(k)
                self._tiles.remove(sk)
        if watermark >= MAX_WATERMARK or self._writer is None or not expired:
            return False  # end of input: free state, keep Redis as it is (TTL expires it)
        for g, ks in expired.items():
            self._writer.stage_prune(user, g, ks)
        return True
