"""The job spec: what the JVM per-event path needs to know, written from the Python catalogue.

The feature catalogue (:mod:`userpulse.features`) stays the one source of truth: the JVM classes
(``jvm/``, package ``io.userpulse.flink``) are generic and read every window, tile size and
aggregation from this spec when the job is built, so adding a window or an aggregation over an
existing kind is still a one-line change in Python. The spec also carries the job's settings, the
Avro schemas of ``schemas/`` and the Redis connection (the password too: the spec is part of the
job graph, like the settings were in the Python functions; it is never logged).

Format (JSON, ``spec_version`` 1; every time is ms unless the name says ``_s``)::

    {"spec_version": 1,
     "features": {"tile_sizes_ms": [1000, ...],            # ascending, TILE_SIZES_MS
                  "retention_tiles": [60, ...],            # per tile size: retention_tiles(g)
                  "aggregates": [{"name": "count_click", "event_type": "CLICK" | null,
                                  "kind": "count" | "sum" | "max" | "distinct",
                                  "field": "dwell_ms" | null,
                                  "value_type": "long" | "double" | "string" | null}, ...],
                  "last_k": 20, "last_k_types": ["CLICK", "HOVER"],
                  "lifetime_types": ["CLICK", "SCROLL", "HOVER"],
                  "session_gap_ms": 1800000, "distinct_sketch_k": 256},
     "layout": {"prefix": "up:v1", "ttl_s": 91800, "profile_ttl_s": 34560000},
     "job": {"allowed_lateness_ms": 600000, "max_future_ms": 86400000,
             "flush_interval_ms": 5, "flush_max_pending": 500, "premerge_refresh_ms": 0,
             "max_record_bytes": 65536,
             "retention_granularity_ms": 60000},
     "avro": {"reader": {...schema...},
              "writers": [{"fingerprint": "<16 hex digits>", "schema": {...}}, ...],
              "registry": null | {"url": "http://.../apis/ccompat/v7", "subject": "<topic>-value",
                                  "timeout_ms": 5000, "cache_size": 1000}},
     "redis": {"host": "127.0.0.1", "port": 16379, "db": 0, "cluster": false,
               "username": "userpulse-job" | null, "password": "..." | null, "timeout_ms": 5000,
               "tls": false, "tls_ca_file": null, "tls_cert_file": null, "tls_key_file": null,
               "tls_check_hostname": true},
     "metrics": {"port": 0, "host": "127.0.0.1"}}
"""

from __future__ import annotations

import json
from typing import Any

from userpulse import features, layout, redis_acl
from userpulse.schemas.codec import (
    DEFAULT_MAX_RECORD_BYTES,
    WriterSchema,
    job_writers,
    reader_schema,
)
from userpulse.settings import Settings

SPEC_VERSION = 1
RETENTION_GRANULARITY_MS = 60_000
"""Cleanup timers of tiles are rounded up to this (many tiles share one timer)."""

_VALUE_TYPES = {
    "dwell_ms": "long",
    "scroll_depth": "double",
    "scroll_px": "long",
    "position": "long",
    "row": "long",
    "item_id": "string",
}
"""Event attributes an aggregate may read, with their type on the JVM (``Event`` fields)."""


def _aggregate(a: features.TileAggregate) -> dict[str, Any]:
    if a.field is not None and a.field not in _VALUE_TYPES:
        raise ValueError(
            f"aggregate {a.name}: field {a.field!r} is not readable by the JVM job; "
            f"use one of {sorted(_VALUE_TYPES)}"
        )
    return {
        "name": a.name,
        "event_type": None if a.event_type is None else a.event_type.value,
        "kind": a.kind,
        "field": a.field,
        "value_type": None if a.field is None else _VALUE_TYPES[a.field],
    }


def feature_spec() -> dict[str, Any]:
    """The catalogue part of the spec (no settings): tiles, aggregates, profile parameters."""
    return {
        "tile_sizes_ms": list(features.TILE_SIZES_MS),
        "retention_tiles": [features.retention_tiles(g) for g in features.TILE_SIZES_MS],
        "aggregates": [_aggregate(a) for a in features.TILE_AGGREGATES],
        "last_k": features.LAST_K,
        "last_k_types": [t.value for t in features.LAST_K_TYPES],
        "lifetime_types": [t.value for t in features.LIFETIME_TYPES],
        "session_gap_ms": features.SESSION_GAP_MS,
        "distinct_sketch_k": features.DISTINCT_SKETCH_K,
    }


def _writer(schema: WriterSchema) -> dict[str, Any]:
    return {"fingerprint": schema.fingerprint.hex(), "schema": schema.json}


def avro_spec(settings: Settings) -> dict[str, Any]:
    """The ``avro`` part: the reader schema (``settings.schema_dir``, else this build's
    ``schemas/``), the writers (the reader, this build's schema and every released one), and
    the registry of Confluent-framed records (``settings.registry_url``; None: none)."""
    reader = reader_schema(settings.schema_dir)
    url = settings.registry_url
    registry = None
    if url is not None:
        registry = {
            "url": url,
            "subject": settings.value_subject,
            "timeout_ms": int(settings.schema_registry_timeout_s * 1000),
            "cache_size": settings.schema_registry_cache_size,
        }
    return {
        "reader": reader.json,
        "writers": [_writer(w) for w in job_writers(reader)],
        "registry": registry,
    }


def job_spec(settings: Settings) -> dict[str, Any]:
    """The whole spec for a job run with ``settings`` (see the module doc for the format).

    Raises:
        ValueError: an aggregate reads a field the JVM event does not carry, or an unusable
            Redis password file (the message says what to change).
    """
    secret = redis_acl.password(settings, "job")
    return {
        "spec_version": SPEC_VERSION,
        "features": feature_spec(),
        "layout": {
            "prefix": layout.PREFIX,
            "ttl_s": settings.redis_ttl_s or layout.ttl_s(settings.allowed_lateness_ms),
            "profile_ttl_s": settings.redis_profile_ttl_s,
        },
        "job": {
            "allowed_lateness_ms": settings.allowed_lateness_ms,
            "max_future_ms": settings.max_future_ms,
            "flush_interval_ms": settings.flush_interval_ms,
            "flush_max_pending": settings.flush_max_pending,
            "premerge_refresh_ms": settings.premerge_refresh_ms,
            "max_record_bytes": DEFAULT_MAX_RECORD_BYTES,
            "retention_granularity_ms": RETENTION_GRANULARITY_MS,
        },
        "avro": avro_spec(settings),
        "redis": {
            "host": settings.redis_host,
            "port": settings.redis_port,
            "db": settings.redis_db,
            "cluster": settings.redis_cluster,
            "username": None if secret is None else redis_acl.user_name(settings, "job"),
            "password": None if secret is None else secret.get_secret_value(),
            "timeout_ms": int(settings.redis_timeout_s * 1000),
            "tls": settings.redis_tls,
            "tls_ca_file": _opt(settings.redis_tls_ca_file),
            "tls_cert_file": _opt(settings.redis_tls_cert_file),
            "tls_key_file": _opt(settings.redis_tls_key_file),
            "tls_check_hostname": settings.redis_tls_check_hostname,
        },
        "metrics": {"port": settings.job_metrics_port, "host": settings.job_metrics_host},
        "store": {
            "loss_rewrite": settings.store_loss_rewrite,
            "check_interval_ms": settings.store_check_interval_ms,
        },
    }


def _opt(p: object) -> str | None:
    return None if p is None else str(p)


def job_spec_json(settings: Settings) -> str:
    """:func:`job_spec` as compact JSON (what the JVM classes parse)."""
    return json.dumps(job_spec(settings), separators=(",", ":"), sort_keys=True)
