"""PyFlink functions of the feature job. They unpack Flink types and delegate to the pure core.

- :class:`DecodeFunction`: bytes -> decoded tuple; bad records to the dead-letter side output.
- :class:`TileFunction`: keyed by user; folds events into per-user tiles in MapState, stages
  absolute tile values to the Redis writer, routes late events to the late side output, frees
  tiles once the watermark has passed their retention.

Flush protocol (design section 5): every staged user gets a processing-time timer at the next
``flush_interval_ms`` boundary. Timers are checkpointed, so a user staged but not yet flushed when a
checkpoint is taken is rewritten from state after a restore (its timer fires in a fresh worker that
never flushed it). Writes are absolute and versioned, so rewriting is harmless.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from pyflink.common import Types
from pyflink.datastream import OutputTag
from pyflink.datastream.functions import KeyedProcessFunction, ProcessFunction, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor
from pyflink.datastream.time_domain import TimeDomain

from jobs import records
from schemas.codec import Decoder
from sinks.layout import ttl_s
from sinks.redis_writer import TileWriter
from userpulse import metrics, profile, redis_conn
from userpulse.features import TILE_SIZES_MS
from userpulse.settings import Settings
from userpulse.tiles import IDX_MAX_TIME
from userpulse.tilestate import Head, Retention, all_tiles, expire, fold_event

DEAD_LETTER_TAG = OutputTag("dead-letter", Types.STRING())
LATE_TAG = OutputTag("late", Types.STRING())
MAX_WATERMARK = 9_223_372_036_854_775_807  # Long.MAX_VALUE: end of input


class DecodeFunction(ProcessFunction):
    """Row(k, v, topic, partition, offset) -> decoded tuple, or a dead-letter JSON side output."""

    def __init__(self, settings: Settings) -> None:
        self._max_future_ms = settings.max_future_ms
        self._metrics_port = settings.job_metrics_port
        self._metrics_host = settings.job_metrics_host
        self._decoder: Decoder | None = None

    def open(self, runtime_context: RuntimeContext) -> None:
        self._decoder = Decoder()
        metrics.serve(self._metrics_port, self._metrics_host)

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


class _MapStateTiles:
    """:class:`userpulse.tilestate.TileMap` over a PyFlink MapState with ``"g:k"`` string keys."""

    def __init__(self, state: Any) -> None:
        self._s = state

    def get(self, key: tuple[int, int]) -> Any:
        return self._s.get(f"{key[0]}:{key[1]}")

    def put(self, key: tuple[int, int], tile: Any) -> None:
        self._s.put(f"{key[0]}:{key[1]}", tile)

    def remove(self, key: tuple[int, int]) -> None:
        self._s.remove(f"{key[0]}:{key[1]}")

    def keys(self) -> Iterator[tuple[int, int]]:
        for sk in self._s.keys():  # noqa: SIM118  (PyFlink MapState is not iterable)
            g, k = sk.split(":")
            yield int(g), int(k)


class TileFunction(KeyedProcessFunction):
    """Per-user tiles -> Redis; late events -> side output; state freed past retention."""

    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._lateness_ms = settings.allowed_lateness_ms
        self._interval_ms = settings.flush_interval_ms
        self._max_pending = settings.flush_max_pending
        self._retention = Retention(settings.allowed_lateness_ms)
        self._writer: TileWriter | None = None
        self._done: set[str] = set()
        # users whose every tile this worker has written (or who had no state when it met
        # them): a user with restored state is rewritten in full at its first event (below)
        self._complete: set[str] = set()

    def open(self, runtime_context: RuntimeContext) -> None:
        self._head = runtime_context.get_state(
            ValueStateDescriptor("head", Types.PICKLED_BYTE_ARRAY())
        )
        self._older = _MapStateTiles(
            runtime_context.get_map_state(
                MapStateDescriptor("tiles", Types.STRING(), Types.PICKLED_BYTE_ARRAY())
            )
        )
        client = redis_conn.connect_writer(self._s, "job")
        self._writer = TileWriter(
            client,
            ttl_s=self._s.redis_ttl_s or ttl_s(self._lateness_ms),
            profile_ttl_s=self._s.redis_profile_ttl_s,
            on_retry=lambda _e: metrics.REDIS_RETRIES.inc(),
        )

    def close(self) -> None:
        if self._writer is not None:
            self._flush()

    def _flush(self) -> None:
        assert self._writer is not None
        t0 = time.perf_counter()
        written = self._writer.flush()
        metrics.WRITE_SECONDS.observe(time.perf_counter() - t0)
        self._done.update(written)
        now_ms = time.time_ns() // 1_000_000
        for newest in written.values():
            if newest is not None:
                metrics.FRESHNESS_MS.observe(max(0, now_ms - newest))

    def _flush_timer(self, ts: Any) -> None:
        # processing time is the wall clock (System.currentTimeMillis); reading it in Python
        # saves a call into the JVM
        now = time.time_ns() // 1_000_000
        ts.register_processing_time_timer((now // self._interval_ms + 1) * self._interval_ms)

    def process_element(self, r: Any, ctx: KeyedProcessFunction.Context):  # type: ignore[no-untyped-def]
        et = r[2]
        ts = ctx.timer_service()
        wm = ts.current_watermark()
        if et < wm - self._lateness_ms:
            metrics.EVENTS_LATE.inc()
            yield LATE_TAG, records.late_json(r, wm, self._lateness_ms)
            return
        user = r[0]
        writer = self._writer
        assert writer is not None
        # one flush timer per user per flush cycle: a pending user already has one for its key
        needs_timer = not writer.is_pending(user)
        event = records.to_event(r)
        head = self._head.value()
        if head is None:
            head = self._revive(user, event)
            self._complete.add(user)
        touched, cleanup = fold_event(head, self._older, event, self._retention)
        profile.fold(head.profile, event, wm, self._lateness_ms)
        self._head.update(head)
        if cleanup is not None:
            ts.register_event_time_timer(cleanup)
        if user in self._complete:
            for g, k, tile in touched:
                writer.stage_tile(user, g, k, tile)
            writer.stage_profile(user, head.profile)
        else:
            # state restored from a checkpoint or savepoint: Redis may have lost the user's keys
            # meanwhile (expired while the job was stopped, a new Redis): write all of it (H19)
            self._restage_all(user)
            self._complete.add(user)
        writer.stage_last_seen(user, et)
        metrics.EVENTS_COUNTED.inc()
        if needs_timer:
            self._flush_timer(ts)
        if writer.pending_users >= self._max_pending:
            self._flush()

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
        self._expire(user, ctx)
        return
        yield  # generator protocol for PyFlink

    def _revive(self, user: str, event: Any) -> Head:
        """State for a user the job holds nothing of: continue the stored profile (design:
        lifetime features outlive the windows). When the stored profile exists but the tile hash
        has expired, mark the old tiles pruned so historical lookups say out_of_retention."""
        writer = self._writer
        assert writer is not None
        if writer.is_pending(user):
            self._flush()  # a just-freed state's last write must be readable first
        raw, tiles_exist = writer.read_profile(user)
        stored = json.loads(raw) if raw is not None else None
        head = Head(profile=profile.revive(stored, event))
        ls = (stored or {}).get("ls")
        if ls is not None and not tiles_exist:
            for g in TILE_SIZES_MS:
                writer.stage_pruned_mark(user, g, min(ls // g, event.event_time_ms // g - 1))
        return head

    def _restage_all(self, user: str) -> None:
        assert self._writer is not None
        head = self._head.value()
        if head is None:
            return
        self._writer.stage_profile(user, head.profile)
        for g, k, tile in all_tiles(head, self._older):
            self._writer.stage_tile(user, g, k, tile)
            newest = tile[IDX_MAX_TIME]
            if newest is not None:
                self._writer.stage_last_seen(user, int(newest))

    def _expire(self, user: str, ctx: Any) -> None:
        """Free tiles past retention; stage their deletion (not at end of input)."""
        head = self._head.value()
        if head is None:
            return
        ts = ctx.timer_service()
        watermark = ts.current_watermark()
        dropped, nxt = expire(head, self._older, watermark, self._retention)
        if nxt is None:
            self._head.clear()
            self._older_clear()
            self._complete.discard(user)
        else:
            self._head.update(head)
            ts.register_event_time_timer(nxt)
        if watermark >= MAX_WATERMARK or not dropped or self._writer is None:
            return  # end of input: free state, keep Redis as it is (TTL expires it)
        if not self._writer.is_pending(user):
            self._flush_timer(ts)
        for g, ks in dropped.items():
            self._writer.stage_prune(user, g, ks)

    def _older_clear(self) -> None:
        for key in list(self._older.keys()):
            self._older.remove(key)
