"""A load run: seeded synthetic traffic shaped by a rate profile, with injected faults, paced.

:class:`LoadSpec` holds everything that decides the records (seed, population, skew, mix, rate
profile, fault fractions, start time): equal specs give equal records, byte for byte
(:func:`load_records`). :func:`run_load` sends them through an :class:`EventSink` on schedule
(:func:`userpulse.producers.pacing.pump`). :meth:`LoadSpec.share` gives process ``i`` of ``n`` its
part for
the multi-process mode (:mod:`userpulse.producers.parallel`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from rich.console import Console

from userpulse.events import Event
from userpulse.producers.faults import FaultSpec, inject
from userpulse.producers.kafka_out import EventSink
from userpulse.producers.pacing import RawRecord, RunSummary, Tick, Timed, pump
from userpulse.producers.profile import RateProfile
from userpulse.producers.synthetic import EventMix, SyntheticTraffic


def derive_seed(seed: int, index: int) -> int:
    """Seed of producer process ``index`` (0-based) in multi-process mode: ``seed * 1000 + index``.

    Distinct processes get distinct seeds (and so distinct event ids ``syn-<seed>-<n>``).
    """
    return seed * 1000 + index


@dataclass(frozen=True)
class LoadSpec:
    """What a load run sends (everything that decides the records).

    Attributes:
        profile: target rate over time (its base rate is the ``--rate``), events/s.
        duration_s: run length, seconds (> 0).
        users, items: population sizes (>= 1).
        seed: random seed; equal specs give equal records.
        zipf_s, item_zipf_s: Zipf exponents of user and item popularity (>= 0).
        mix: event-type weights.
        faults: fractions of out-of-order, late and malformed records.
        start_time_ms: event time of the first record, UTC epoch ms; None = the wall clock when
            the run starts.
        shard: ``(index, count)`` of the user population this spec generates (see
            :class:`~userpulse.producers.synthetic.SyntheticTraffic`).

    Raises:
        ValueError: a value out of range (the message names it).
    """

    profile: RateProfile
    duration_s: float
    users: int = 10_000
    seed: int = 1
    zipf_s: float = 1.1
    items: int = 50_000
    item_zipf_s: float = 1.1
    mix: EventMix = field(default_factory=EventMix)
    faults: FaultSpec = field(default_factory=FaultSpec)
    start_time_ms: int | None = None
    shard: tuple[int, int] = (0, 1)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ValueError(
                f"duration_s must be a positive number of seconds, got {self.duration_s}"
            )

    @property
    def constant(self) -> bool:
        """True for a constant rate without bursts (the schedule is exactly ``i / rate``)."""
        return self.profile.kind == "constant" and self.profile.burst is None

    def expected_count(self) -> int:
        """Records the run sends."""
        return self.profile.expected_count(self.duration_s)

    def share(self, index: int, count: int) -> LoadSpec:
        """The part of process ``index`` of ``count``: 1/count of the rate, its own derived seed,
        the users whose number is ``index`` modulo ``count``, the same start time.

        Raises:
            ValueError: ``index`` not in ``0..count-1`` or ``count`` > ``users``.
        """
        if not 0 <= index < count:
            raise ValueError(f"index must be in 0..{count - 1}, got {index}")
        if count > self.users:
            raise ValueError(f"processes ({count}) must not exceed users ({self.users})")
        if count == 1:
            return self
        return dataclasses.replace(
            self,
            profile=self.profile.scaled(1 / count),
            seed=derive_seed(self.seed, index),
            shard=(index, count),
        )


def load_records(spec: LoadSpec, start_time_ms: int) -> Iterator[Timed]:
    """:class:`Timed` ``(due_s, item)`` records of the run, in send order.

    Args:
        spec: the run.
        start_time_ms: event time of due offset 0, UTC epoch ms.

    Returns:
        Clean events are :class:`Event` (the sink encodes them) when no fault is configured, else
        every item is a :class:`RawRecord` with its ``kind``.
    """
    traffic = SyntheticTraffic(
        spec.seed,
        users=spec.users,
        zipf_s=spec.zipf_s,
        mix=spec.mix,
        start_time_ms=start_time_ms,
        items=spec.items,
        item_zipf_s=spec.item_zipf_s,
        shard=spec.shard,
    )
    events: Iterator[Event]
    if spec.constant:
        rate = spec.profile.base_rate_per_s
        n = spec.expected_count()
        dues: Iterator[float] = (i / rate for i in range(n))
        events = traffic.events(rate, n)
    else:
        d1, d2 = itertools.tee(spec.profile.due_times(spec.duration_s))
        dues, events = d2, traffic.events_at(d1)
    items: Iterator[Event | RawRecord] = (
        inject(events, spec.faults, spec.seed) if spec.faults.any else events
    )
    return map(Timed, dues, items)


def run_load(
    sink: EventSink,
    spec: LoadSpec,
    *,
    console: Console | None = None,
    on_tick: Callable[[Tick], None] | None = None,
    start_wall_s: float | None = None,
) -> RunSummary:
    """Send the run of ``spec`` through ``sink`` on schedule; flush; summarise.

    Args:
        sink: where the records go.
        spec: the run.
        console: rich console for live progress; None = silent.
        on_tick: progress hook (see :func:`userpulse.producers.pacing.pump`).
        start_wall_s: wall-clock start (``time.time()`` seconds) to wait for before sending, so
            that several processes start together; None = now.

    Returns:
        The :class:`RunSummary`; ``first_event_time_ms`` is the run's start time, so
        ``load_records(spec, first_event_time_ms)`` regenerates the records sent.
    """
    if start_wall_s is not None:
        while (wait := start_wall_s - time.time()) > 0:
            time.sleep(min(wait, 0.05))
    start_ms = spec.start_time_ms
    if start_ms is None:
        start_ms = int((start_wall_s if start_wall_s is not None else time.time()) * 1000)
    total = spec.expected_count()
    summary = pump(
        sink,
        load_records(spec, start_ms),
        source="synthetic",
        total=total,
        target_rate_per_s=(
            spec.profile.base_rate_per_s if spec.constant else total / spec.duration_s
        ),
        min_duration_s=spec.duration_s,
        console=console,
        on_tick=on_tick,
    )
    return dataclasses.replace(summary, first_event_time_ms=start_ms)
