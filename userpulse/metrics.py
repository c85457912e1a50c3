"""Prometheus metrics of the job workers: the contract, in one module (units in the names).

The job's workers run on the JVM and serve these metrics from
``io.userpulse.flink.metrics.JobMetrics`` (the Prometheus Java client, on
``USERPULSE_JOB_METRICS_PORT``). This module declares the same names, help texts, labels and
buckets for everything Python that relies on them (the Grafana dashboard and alert rules tests,
``tests/deploykit.py``); the JVM's exposition is pinned to the one generated from here
(``tests/unit/test_jvm_decode_vectors.py`` -> ``jvm/src/test/resources/metrics/``,
``JobMetricsTest.java``). Nothing increments them in Python.

Source of naming rules: Prometheus docs, "Metric and label naming" (base units, ``_total``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_IN = Counter("userpulse_events_in_total", "Records read from the input topic")
EVENTS_COUNTED = Counter("userpulse_events_counted_total", "Events folded into features")
EVENTS_LATE = Counter("userpulse_events_late_total", "Events beyond the allowed lateness")
EVENTS_DEAD_LETTERED = Counter(
    "userpulse_events_dead_lettered_total", "Records sent to the dead-letter topic", ["error_class"]
)
EVENTS_AHEAD_OF_CLOCK = Counter(
    "userpulse_events_ahead_of_clock_total",
    "Counted events more than max_clock_skew_ms ahead of the job clock",
)
"""Design section 4: such events count at their own time; the watermark is capped at the job's
clock + ``max_clock_skew_ms`` (JVM: ``AvroEventTime``, counted in ``DecodeFunction``)."""
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
SCHEMA_REGISTRY_RETRIES = Counter(
    "userpulse_schema_registry_retries_total",
    "Schema registry lookups that failed and were retried",
)
STORE_ERRORS = Counter(
    "userpulse_store_errors",
    "Users whose key Redis refused for good (reported on the dead-letter topic)",
    ["op"],
)
STORE_RETRIES = Counter(
    "userpulse_store_retries",
    "Redis reads and flushes retried, by the state that caused it",
    ["state"],
)
STORE_BLOCKED = Gauge(
    "userpulse_store_blocked", "Writers waiting for Redis (down, slow or in a transient state)"
)
STORE_LOSSES = Counter("userpulse_store_losses", "Times the job found the store had lost data")
STORE_REWRITES = Counter("userpulse_store_rewrites", "Users rewritten in full after a store loss")
STORE_REWRITE_PENDING = Gauge(
    "userpulse_store_rewrite_pending", "Users still to rewrite in full after a store loss"
)
