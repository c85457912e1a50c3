"""Rate profiles of a load run: constant, steps, diurnal, with optional bursts.

A :class:`RateProfile` maps seconds since the start to a target rate (events/s).
:meth:`RateProfile.due_times` turns it into the send schedule: event ``i + 1`` is due
``1 / rate(t_i)`` seconds after event ``i`` (t_0 = 0). The synthetic generator derives event
times from the same offsets (``start + int(due_s * 1000)``), so the event-time stream follows the
profile too. Pure and deterministic: no clock, no randomness.

Text forms (the ``--profile`` and ``--burst`` flags of ``userpulse produce synthetic``):

- ``constant``: the base rate all along.
- ``step:T1=R1,T2=R2,...``: from T1 seconds on R1 events/s, from T2 on R2, ... (before T1: the base
  rate). Example: ``step:20=2000,40=4000``.
- ``diurnal:PERIOD_S[:AMPLITUDE]``: ``base * (1 - A * cos(2 pi t / PERIOD))``, a day compressed to
  PERIOD seconds (trough at t = 0, peak at PERIOD / 2); AMPLITUDE in [0, 1), default 0.5. The mean
  rate over whole periods is the base rate.
- burst ``EVERY_S:LENGTH_S:FACTOR``: from ``EVERY_S`` seconds on, every ``EVERY_S`` seconds the rate
  is multiplied by FACTOR for LENGTH_S seconds. Example: ``30:2:3`` (3x for 2 s every 30 s).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from userpulse.errors import UserpulseError

MIN_RATE_PER_S = 1e-3
"""Rates are clamped to at least this (events/s) so a schedule always moves forward."""


class ProfileError(UserpulseError, ValueError):
    """A profile or burst text does not parse or has out-of-range values (message says which)."""


@dataclass(frozen=True)
class Burst:
    """Every ``every_s`` seconds (first at ``every_s``), ``factor`` times the rate for ``length_s``.

    Raises:
        ProfileError: ``every_s`` or ``length_s`` <= 0, ``length_s`` > ``every_s``, ``factor`` <= 0.
    """

    every_s: float
    length_s: float
    factor: float

    def __post_init__(self) -> None:
        if not (self.every_s > 0 and self.length_s > 0 and self.factor > 0):
            raise ProfileError(f"burst needs every, length and factor > 0, got {self}")
        if self.length_s > self.every_s:
            raise ProfileError(
                f"burst length {self.length_s} s exceeds its period {self.every_s} s"
            )

    @classmethod
    def parse(cls, text: str) -> Burst:
        """Parse ``EVERY_S:LENGTH_S:FACTOR`` (for example ``30:2:3``).

        Raises:
            ProfileError: not three numbers separated by ``:``, or values out of range.
        """
        parts = text.split(":")
        if len(parts) != 3:
            raise ProfileError(f"burst must be EVERY_S:LENGTH_S:FACTOR (e.g. 30:2:3), got {text!r}")
        try:
            every, length, factor = (float(p) for p in parts)
        except ValueError:
            raise ProfileError(f"burst values must be numbers, got {text!r}") from None
        return cls(every, length, factor)

    def factor_at(self, t_s: float) -> float:
        """The multiplier at ``t_s`` seconds after the start (1.0 outside a burst)."""
        if t_s < self.every_s:
            return 1.0
        return self.factor if (t_s % self.every_s) < self.length_s else 1.0


@dataclass(frozen=True)
class RateProfile:
    """Target rate as a function of time since the start.

    Args:
        base_rate_per_s: the base rate, events/s (> 0).
        kind: ``constant``, ``step`` or ``diurnal``.
        steps: for ``step``: ``(from_s, rate_per_s)`` pairs sorted by time.
        period_s, amplitude: for ``diurnal``.
        burst: optional bursts on top.

    Raises:
        ProfileError: out-of-range values.
    """

    base_rate_per_s: float
    kind: str = "constant"
    steps: tuple[tuple[float, float], ...] = ()
    period_s: float = 0.0
    amplitude: float = 0.0
    burst: Burst | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.base_rate_per_s) and self.base_rate_per_s > 0):
            raise ProfileError(f"rate must be > 0 events/s, got {self.base_rate_per_s}")
        if self.kind not in ("constant", "step", "diurnal"):
            raise ProfileError(f"unknown profile {self.kind!r} (constant, step:..., diurnal:...)")
        if self.kind == "diurnal" and not (self.period_s > 0 and 0 <= self.amplitude < 1):
            raise ProfileError(
                f"diurnal needs PERIOD_S > 0 and 0 <= AMPLITUDE < 1, got {self.period_s}, "
                f"{self.amplitude}"
            )
        if any(r <= 0 or t < 0 for t, r in self.steps):
            raise ProfileError(f"step times must be >= 0 and rates > 0, got {self.steps}")

    @classmethod
    def parse(cls, text: str, base_rate_per_s: float, burst: str | None = None) -> RateProfile:
        """Build a profile from its text form (module docstring) and the base rate.

        Raises:
            ProfileError: the text does not parse (the message shows the expected form).
        """
        kind, _, args = text.strip().partition(":")
        b = Burst.parse(burst) if burst else None
        if kind == "constant" and not args:
            return cls(base_rate_per_s, burst=b)
        if kind == "step":
            try:
                steps = tuple(
                    sorted(
                        (float(t), float(r))
                        for t, _, r in (p.partition("=") for p in args.split(",") if p.strip())
                    )
                )
            except ValueError:
                raise ProfileError(
                    f"step profile must be step:T1=R1,T2=R2 (seconds=events/s), got {text!r}"
                ) from None
            if not steps:
                raise ProfileError(f"step profile needs at least one T=R, got {text!r}")
            return cls(base_rate_per_s, "step", steps=steps, burst=b)
        if kind == "diurnal":
            period, _, amp = args.partition(":")
            try:
                return cls(
                    base_rate_per_s,
                    "diurnal",
                    period_s=float(period),
                    amplitude=float(amp) if amp else 0.5,
                    burst=b,
                )
            except ValueError:
                raise ProfileError(
                    f"diurnal profile must be diurnal:PERIOD_S[:AMPLITUDE], got {text!r}"
                ) from None
        raise ProfileError(
            f"unknown profile {text!r}; use constant, step:T1=R1,... or diurnal:PERIOD_S[:AMP]"
        )

    def rate_at(self, t_s: float) -> float:
        """Target events/s at ``t_s`` seconds after the start (bursts included)."""
        rate = self.base_rate_per_s
        if self.kind == "step":
            for from_s, r in self.steps:
                if t_s >= from_s:
                    rate = r
                else:
                    break
        elif self.kind == "diurnal":
            rate *= 1 - self.amplitude * math.cos(2 * math.pi * t_s / self.period_s)
        if self.burst is not None:
            rate *= self.burst.factor_at(t_s)
        return max(rate, MIN_RATE_PER_S)

    def due_times(self, duration_s: float) -> Iterator[float]:
        """Due offsets (seconds after the start) of the events sent in ``duration_s`` seconds.

        A constant profile without bursts gives exactly ``i / rate`` for
        ``i < round(rate * duration_s)``.
        """
        if self.kind == "constant" and self.burst is None:
            n = max(1, round(self.base_rate_per_s * duration_s))
            return (i / self.base_rate_per_s for i in range(n))
        return self._walk(duration_s)

    def _walk(self, duration_s: float) -> Iterator[float]:
        t = 0.0
        while t < duration_s:
            yield t
            t += 1.0 / self.rate_at(t)

    def expected_count(self, duration_s: float) -> int:
        """How many events :meth:`due_times` yields for ``duration_s`` (walks the schedule)."""
        if self.kind == "constant" and self.burst is None:
            return max(1, round(self.base_rate_per_s * duration_s))
        return sum(1 for _ in self._walk(duration_s))

    def scaled(self, factor: float) -> RateProfile:
        """The same shape at ``factor`` times the rates (a process's share, multi-process)."""
        return RateProfile(
            self.base_rate_per_s * factor,
            self.kind,
            tuple((t, r * factor) for t, r in self.steps),
            self.period_s,
            self.amplitude,
            self.burst,
        )
