"""The peer for `make bench`: the same count / sum / max features with Quix Streams.

Runs in its own virtual environment (``.venv-peer``: Quix Streams pins a confluent-kafka older than
ours), started by ``bench/run.py`` as ``.venv-peer/bin/python bench/peer_quix.py --topic T ...``.

What it computes, per user (Kafka key), for each of the job's windows (1 min, 5 min, 1 h, 24 h):
``count_click``, ``count_scroll``, ``count_hover``, ``sum_dwell_hover`` and ``max_depth_scroll``,
with Quix **sliding** windows (``sdf.sliding_window(duration_ms)``, the closest Quix has to
"the last W as of now": a window ends at each event; Quix documents them as much cheaper than a
hopping window with a 1 ms step) over the payload's event time (``timestamp_extractor``), grace =
the job's allowed lateness (10 min). Records are decoded from the same Avro single-object framing
by ``userpulse.schemas.codec`` (fastavro). Bad records are skipped and counted.

Results go to the same Redis under ``peer:{<user>}`` (``--prefix``): one hash per user, fields
``<window>:<feature>`` and ``ls`` (the newest event time folded, the freshness probe's marker).

``--windows tiles`` is the second variant: Quix **tumbling** windows with the job's tile sizes
(1 s, 5 s, 1 min, 24 min), each tile written as ``t:<tile>:<start ms>``, to be merged into the
sliding windows at lookup time exactly as userpulse does. It does the same work per event as the
job (four tiles), where the sliding variant's cost grows with the events of a user inside the
window (Quix keeps one window per event).
Writes are staged per user and flushed in one pipeline when 500 users are staged or 5 ms have
passed since the last flush (checked as records arrive), plus at every Quix checkpoint: the same
flush policy as the job's writer. Quix state (RocksDB + changelog topics) is left at its defaults.

The number of records decoded is exported as ``peer_events_processed_total`` on
``--metrics-port`` (Prometheus), which ``bench`` reads to compute the consumer lag.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import Counter, start_http_server  # noqa: E402
from quixstreams import Application  # noqa: E402
from quixstreams.dataframe.windows.aggregations import Max, Sum  # noqa: E402
from quixstreams.models.serializers import Deserializer  # noqa: E402
from quixstreams.sinks import BaseSink  # noqa: E402

from userpulse import redis_conn  # noqa: E402
from userpulse.events import EventType  # noqa: E402
from userpulse.schemas import codec  # noqa: E402
from userpulse.settings import Settings  # noqa: E402

WINDOWS_MS = {"1m": 60_000, "5m": 300_000, "1h": 3_600_000, "24h": 86_400_000}
TILES_MS = {"1s": 1_000, "5s": 5_000, "1min": 60_000, "24min": 1_440_000}
"""The job's tile sizes (userpulse/features.py): the ``tiles`` variant keeps the same tiles."""
FLUSH_INTERVAL_S = 0.005
FLUSH_MAX_PENDING = 500
PROCESSED = Counter("peer_events_processed", "Records decoded by the peer")
BAD = Counter("peer_events_bad", "Records the peer could not decode")


def peer_key(prefix: str, user_id: str) -> str:
    """The peer's hash of a user: ``<prefix>:{<user>}``."""
    return f"{prefix}:{{{user_id}}}"


class AvroEvent(Deserializer):
    """Single-object Avro bytes -> a flat dict of the columns the windows aggregate."""

    def __init__(self) -> None:
        super().__init__()
        self._decoder = codec.Decoder()

    def __call__(self, value: bytes, ctx: Any) -> dict[str, Any]:
        e = self._decoder.decode(value)
        PROCESSED.inc()
        t = e.event_type
        return {
            "t": e.event_time_ms,
            "is_click": 1 if t is EventType.CLICK else 0,
            "is_scroll": 1 if t is EventType.SCROLL else 0,
            "is_hover": 1 if t is EventType.HOVER else 0,
            "dwell": (e.dwell_ms or 0) if t is EventType.HOVER else 0,
            "depth": e.scroll_depth if t is EventType.SCROLL else None,
        }


class Stager:
    """Per-user staged fields, written to Redis in one pipeline (5 ms / 500 users)."""

    def __init__(self, settings: Settings, prefix: str) -> None:
        self._redis = redis_conn.connect(settings, "admin")
        self._prefix = prefix
        self._pending: dict[str, dict[str | bytes, bytes | float | int | str]] = {}
        self._last_flush = time.monotonic()

    def stage(self, user: str, fields: dict[str, Any], event_time_ms: int) -> None:
        """Stage ``fields`` of ``user``; ``ls`` keeps the newest event time."""
        cur = self._pending.setdefault(user, {})
        cur.update(fields)
        if event_time_ms > int(cur.get("ls", -1)):
            cur["ls"] = event_time_ms
        now = time.monotonic()
        if len(self._pending) >= FLUSH_MAX_PENDING or now - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        """Write every staged user (HSET) in one pipeline."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        pipe = self._redis.pipeline(transaction=False)
        for user, fields in self._pending.items():
            pipe.hset(peer_key(self._prefix, user), mapping=fields)
        pipe.execute()
        self._pending = {}


class WindowSink(BaseSink):
    """Quix sink of one window's results into the shared :class:`Stager`.

    Sliding windows write ``<window>:<feature>`` fields (the value as of the newest event);
    tumbling tiles write ``t:<tile>:<start ms>`` = ``count_click;count_scroll;count_hover;
    sum_dwell_hover;max_depth_scroll`` (a reader merges the tiles of a window, like the job's).
    """

    def __init__(self, window: str, stager: Stager, tiles: bool) -> None:
        super().__init__()
        self._window = window
        self._stager = stager
        self._tiles = tiles

    def add(self, value: Any, key: Any, timestamp: int, headers: Any, topic: str,
            partition: int, offset: int) -> None:  # fmt: skip
        w = self._window
        user = key.decode("utf-8", "surrogatepass") if isinstance(key, bytes) else str(key)
        depth = "" if value["max_depth"] is None else value["max_depth"]
        if self._tiles:
            tile = (
                f"{value['count_click']};{value['count_scroll']};{value['count_hover']};"
                f"{value['sum_dwell_hover']};{depth}"
            )
            self._stager.stage(user, {f"t:{w}:{value['start']}": tile}, value["newest"])
            return
        fields = {
            f"{w}:count_click": value["count_click"],
            f"{w}:count_scroll": value["count_scroll"],
            f"{w}:count_hover": value["count_hover"],
            f"{w}:sum_dwell_hover": value["sum_dwell_hover"],
            f"{w}:max_depth_scroll": depth,
        }
        self._stager.stage(user, fields, value["newest"])

    def flush(self) -> None:
        self._stager.flush()


def _skip(exc: Exception, row: Any, logger: Any) -> bool:
    BAD.inc()
    return True  # skip the record, keep running


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group-id", required=True)
    ap.add_argument("--metrics-port", type=int, required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--grace-ms", type=int, default=600_000)
    ap.add_argument("--commit-interval-s", type=float, default=5.0)
    ap.add_argument("--windows", choices=("sliding", "tiles"), default="sliding")
    ap.add_argument("--prefix", default="peer", help="Redis key prefix of the results")
    args = ap.parse_args()
    settings = Settings()
    start_http_server(args.metrics_port, addr="127.0.0.1")
    app = Application(
        broker_address=settings.kafka_bootstrap,
        consumer_group=args.group_id,
        auto_offset_reset="earliest",
        commit_interval=args.commit_interval_s,
        state_dir=args.state_dir,
        on_consumer_error=_skip,
        on_processing_error=_skip,
        loglevel="WARNING",
    )
    topic = app.topic(
        args.topic,
        key_deserializer="bytes",
        value_deserializer=AvroEvent(),
        timestamp_extractor=lambda value, headers, ts, ts_type: value["t"],
    )
    sdf = app.dataframe(topic)
    stager = Stager(settings, args.prefix)
    tiles = args.windows == "tiles"
    for name, window_ms in (TILES_MS if tiles else WINDOWS_MS).items():
        window = (
            sdf.tumbling_window(duration_ms=window_ms, grace_ms=args.grace_ms, name=f"t{name}")
            if tiles
            else sdf.sliding_window(duration_ms=window_ms, grace_ms=args.grace_ms, name=f"w{name}")
        )
        (
            window.agg(
                count_click=Sum("is_click"),
                count_scroll=Sum("is_scroll"),
                count_hover=Sum("is_hover"),
                sum_dwell_hover=Sum("dwell"),
                max_depth=Max("depth"),
                newest=Max("t"),
            )
            .current()
            .sink(WindowSink(name, stager, tiles))
        )
    app.run()


if __name__ == "__main__":
    main()
