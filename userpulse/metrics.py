"""Prometheus metric names of the job workers, in one module (units in the names).

Source of naming rules: Prometheus docs, "Metric and label naming" (base units, ``_total``).
"""

from __future__ import annotations

import threading

from prometheus_client import Counter, Histogram, start_http_server

EVENTS_IN = Counter("userpulse_events_in_total", "Records read from the input topic")
EVENTS_COUNTED = Counter("userpulse_events_counted_total", "Events folded into features")
EVENTS_LATE = Counter("userpulse_events_late_total", "Events beyond the allowed lateness")
EVENTS_DEAD_LETTERED = Counter(
    "userpulse_events_dead_lettered_total", "Records sent to the dead-letter topic", ["error_class"]
)
TOMBSTONES = Counter("userpulse_tombstones_skipped_total", "Null-value records skipped")
DECODE_SECONDS = Histogram(
    "userpulse_decode_seconds",
    "Decode time per record",
    buckets=(1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 1e-3),
)
WRITE_SECONDS = Histogram(
    "userpulse_redis_write_seconds",
    "Time of one pipelined flush to Redis",
    buckets=(1e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 5e-2, 0.1, 1.0),
)
FRESHNESS_MS = Histogram(
    "userpulse_freshness_ms",
    "Redis write time minus event_time, ms",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 60000),
)
REDIS_RETRIES = Counter("userpulse_redis_write_retries_total", "Retried Redis flushes")

_started: list[int] = []
_lock = threading.Lock()
PORT_SPAN = 16  # worker processes on one host take ports base, base+1, ... (first free)


def serve(port: int, host: str = "127.0.0.1") -> int:
    """Expose the metrics on ``host`` at the first free port of ``[port, port + PORT_SPAN)``
    (once per process; 0 = do nothing). Several TaskManagers on one host (the local session
    cluster) are separate processes: the first takes ``port``, the next ``port + 1``, and so on.

    Returns:
        The port serving this process's metrics, or 0 when off.

    Raises:
        OSError: every port of the span is taken.
    """
    if port <= 0:
        return 0
    with _lock:
        if _started:
            return _started[0]
        last: OSError | None = None
        for p in range(port, port + PORT_SPAN):
            try:
                start_http_server(p, addr=host)
            except OSError as e:
                last = e
                continue
            _started.append(p)
            return p
        raise OSError(f"no free metrics port in {port}..{port + PORT_SPAN - 1}: {last}")
