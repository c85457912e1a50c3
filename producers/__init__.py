"""Producers of userpulse events: synthetic load and replay of recorded logs, into Kafka.

- :mod:`userpulse.producers.kafka_out`: :class:`EventSink`, a counted wrapper over the Kafka
producer.
- :mod:`userpulse.producers.synthetic`: :class:`SyntheticTraffic` (seeded generator),
:func:`run_synthetic`.
- :mod:`userpulse.producers.replay`: :func:`load_dataset` (EB-NeRD, Globo, OTTO -> events),
:func:`replay`.
- :mod:`userpulse.producers.pacing`: the paced send loop (:func:`pump`, :func:`schedule`), live
  progress
  and :class:`RunSummary`.
- :mod:`userpulse.producers.load`: a load run (:class:`LoadSpec`: profile, faults, seed),
  :func:`run_load`;
  :mod:`userpulse.producers.profile` (rate profiles, bursts), :mod:`userpulse.producers.faults`
  (out-of-order, late,
  malformed records), :mod:`userpulse.producers.parallel` (several processes),
  :mod:`userpulse.producers.metrics`
  (Prometheus). User guide: ``docs/load.md``.

Errors derive from :class:`ProducerError`.
"""

from __future__ import annotations

from userpulse.producers.kafka_out import (
    DEFAULT_PRODUCER_CONFIG,
    EventSink,
    ProducerConfigError,
    ProducerError,
    SinkStats,
)
from userpulse.producers.pacing import RunSummary

__all__ = [
    "DEFAULT_PRODUCER_CONFIG",
    "EventSink",
    "ProducerConfigError",
    "ProducerError",
    "RunSummary",
    "SinkStats",
]
