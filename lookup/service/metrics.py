"""Prometheus metrics of the HTTP lookup service (design section 8), one registry per app.

Names carry their units (Prometheus "Metric and label naming": base unit seconds, ``_total``).
Every request metric carries the caller's ``team`` (``anonymous`` without a teams file,
``unknown`` before authentication); no label ever holds a user id or a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

# 100 us .. 1 s: a lookup is ~0.2 ms on loopback, the targets are 1 ms / 5 ms / 10 ms
LATENCY_BUCKETS_S = (
    0.0001,
    0.00025,
    0.0005,
    0.00075,
    0.001,
    0.002,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)


@dataclass
class ServiceMetrics:
    """The service's metrics, registered in their own ``registry`` (one per app instance)."""

    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        r = self.registry
        self.request_seconds = Histogram(
            "userpulse_lookup_request_duration_seconds",
            "Time to answer a lookup request (validation, Redis round trip, merge, encoding)",
            ["endpoint", "team"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.requests = Counter(
            "userpulse_lookup_requests_total",
            "Requests by endpoint, HTTP status code and team",
            ["endpoint", "code", "team"],
            registry=r,
        )
        self.feature_statuses = Counter(
            "userpulse_lookup_feature_status_total",
            "Feature values returned, by status (present, not_found, out_of_retention, "
            "store_error, rewriting) and team",
            ["status", "team"],
            registry=r,
        )
        self.batch_users = Histogram(
            "userpulse_lookup_batch_users",
            "Distinct users per batch lookup",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
            registry=r,
        )
        self.rejected = Counter(
            "userpulse_lookup_rejected_total",
            "Requests refused by team and reason (unauthenticated, quota_exceeded, forbidden, "
            "forbidden_feature)",
            ["team", "reason"],
            registry=r,
        )
        self.teams_reload_errors = Counter(
            "userpulse_lookup_teams_reload_errors_total",
            "Changed teams files that did not parse (the previous teams stay in force)",
            registry=r,
        )
