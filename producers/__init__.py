"""Producers of userpulse events: synthetic load and replay of recorded logs, into Kafka.

- :mod:`producers.kafka_out`: :class:`EventSink`, a counted wrapper over the Kafka producer.
- :mod:`producers.synthetic`: :class:`SyntheticTraffic` (seeded generator), :func:`run_synthetic`.
- :mod:`producers.replay`: :func:`load_dataset` (EB-NeRD, Globo, OTTO -> events), :func:`replay`.
- :mod:`producers.pacing`: the paced send loop (:func:`pump`, :func:`schedule`), live progress
  and :class:`RunSummary`.
- :mod:`producers.load`: a load run (:class:`LoadSpec`: profile, faults, seed), :func:`run_load`;
  :mod:`producers.profile` (rate profiles, bursts), :mod:`producers.faults` (out-of-order, late,
  malformed records), :mod:`producers.parallel` (several processes), :mod:`producers.metrics`
  (Prometheus). User guide: ``docs/load.md``.

Errors derive from :class:`ProducerError`.
"""

from __future__ import annotations

from producers.kafka_out import (
    DEFAULT_PRODUCER_CONFIG,
    EventSink,
    ProducerConfigError,
    ProducerError,
    SinkStats,
)
from producers.pacing import RunSummary

__all__ = [
    "DEFAULT_PRODUCER_CONFIG",
    "EventSink",
    "ProducerConfigError",
    "ProducerError",
    "RunSummary",
    "SinkStats",
]
