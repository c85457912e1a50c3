"""Prometheus metrics of a producer run (design section 8: units in the names).

A :class:`ProducerMetrics` owns its own ``CollectorRegistry`` (so a test or a process can hold
several, and the job's worker metrics never mix in) and is fed
:class:`~userpulse.producers.pacing.Tick`
snapshots: counters advance by the delta since the previous tick. Names:

- ``userpulse_producer_events_sent_total``: records handed to the Kafka client.
- ``userpulse_producer_events_delivered_total``: records acknowledged by the broker.
- ``userpulse_producer_delivery_errors_total{error}``: failed deliveries by librdkafka error name.
- ``userpulse_producer_rate_events_per_second``: send rate over the last progress interval.
- ``userpulse_producer_target_rate_events_per_second``: the requested (mean) rate.
- ``userpulse_producer_behind_schedule_seconds``: how far the newest send is behind its due time.

Source of naming rules: Prometheus docs, "Metric and label naming".
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from userpulse.producers.pacing import Tick


class ProducerMetrics:
    """Producer counters and gauges in a private registry.

    Args:
        target_rate_per_s: requested rate, events/s (exported as a gauge).
    """

    def __init__(self, target_rate_per_s: float) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sent = Counter(
            "userpulse_producer_events_sent", "Records handed to the Kafka client", registry=r
        )
        self.delivered = Counter(
            "userpulse_producer_events_delivered", "Records acknowledged by the broker", registry=r
        )
        self.errors = Counter(
            "userpulse_producer_delivery_errors",
            "Failed deliveries by librdkafka error name",
            ["error"],
            registry=r,
        )
        self.rate = Gauge(
            "userpulse_producer_rate_events_per_second", "Send rate, last interval", registry=r
        )
        self.target = Gauge(
            "userpulse_producer_target_rate_events_per_second", "Requested rate", registry=r
        )
        self.behind = Gauge(
            "userpulse_producer_behind_schedule_seconds",
            "Newest send behind its due time",
            registry=r,
        )
        self.target.set(target_rate_per_s)
        self._last = Tick(0, 0, 0, {}, 0.0, 0.0, 0.0)

    def update(self, tick: Tick) -> None:
        """Advance the counters to ``tick`` (cumulative counts of the run) and set the gauges."""
        last = self._last
        self.sent.inc(max(tick.sent - last.sent, 0))
        self.delivered.inc(max(tick.delivered - last.delivered, 0))
        for name, n in tick.errors.items():
            delta = n - last.errors.get(name, 0)
            if delta > 0:
                self.errors.labels(error=name).inc(delta)
        self.rate.set(tick.rate_per_s)
        self.behind.set(tick.behind_s)
        self._last = tick

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` on ``addr:port`` (a daemon thread; 0 = do nothing).

        Raises:
            OSError: the port is taken.
        """
        if port > 0:
            start_http_server(port, addr=addr, registry=self.registry)
