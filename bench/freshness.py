"""Freshness: time from an event's creation until its feature is readable in Redis.

While a load producer drives the system at a fixed rate, a probe creates CLICK events for its own
users (``probe-<system>-<k>``, k < 50, event time = creation time, UTC ms), sends each through its
own producer (``linger.ms`` 0, connected by an untimed warm-up event first) and polls Redis (every
0.2 ms) until the system's marker for that user has reached the event time
(:meth:`bench.systems.System.readable`). Freshness = ``readable wall time - creation wall time``,
in ms. Probes that never become readable within ``timeout_s`` are counted, not timed.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from bench.search import finish_producer, start_producer
from bench.systems import System
from userpulse.events import Event, EventType
from userpulse.producers.kafka_out import EventSink

POLL_S = 0.0002
PROBE_USERS = 50


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by linear interpolation (numpy's default).

    Raises:
        ValueError: ``values`` is empty.
    """
    if not values:
        raise ValueError("no values")
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class Freshness:
    """Result of one freshness run.

    Attributes:
        rate: load rate during the run, events/s.
        samples: ``(seconds since the start, freshness ms)`` per probe that became readable.
        timeouts: probes never readable within the timeout.
        producer: the load producer's JSON summary.
        t0_wall_s: UTC epoch seconds at the probes' start (``samples``' time 0).
    """

    rate: float
    samples: list[tuple[float, float]] = field(default_factory=list)
    timeouts: int = 0
    timeout_ms: float = 5_000.0
    producer: dict[str, Any] = field(default_factory=dict)
    t0_wall_s: float = 0.0

    def stats(self) -> dict[str, Any]:
        """``n``, ``p50``, ``p99``, ``p999``, ``mean``, ``max`` (ms), ``timeouts``.

        Probes that timed out count as ``timeout_ms`` in the percentiles (a lower bound of their
        real freshness); ``censored_at_ms`` is then set and a percentile equal to it means
        "at least that".
        """
        ms = [v for _, v in self.samples] + [self.timeout_ms] * self.timeouts
        if not ms:
            return {"n": 0, "timeouts": 0}
        out = {
            "n": len(ms),
            "p50": round(percentile(ms, 0.5), 2),
            "p99": round(percentile(ms, 0.99), 2),
            "p999": round(percentile(ms, 0.999), 2),
            "mean": round(statistics.fmean(ms), 2),
            "max": round(max(ms), 2),
            "timeouts": self.timeouts,
        }
        if self.timeouts:
            out["censored_at_ms"] = self.timeout_ms
        return out

    def created_ms(self) -> list[tuple[float, float]]:
        """``(creation UTC epoch ms, freshness ms)`` per readable probe (for bench.tail)."""
        return [((self.t0_wall_s + t) * 1000 - ms, ms) for t, ms in self.samples]


def probe(
    system: System,
    sink: EventSink,
    r: redis.Redis,
    rate: float,
    duration_s: float,
    out: Freshness,
    timeout_s: float | None = None,
) -> None:
    """Send probes at ``rate`` per second for ``duration_s`` seconds, timing each (see module)."""
    t0 = time.monotonic()
    out.t0_wall_s = time.time()
    i = 0
    while time.monotonic() - t0 < duration_s:
        user = f"probe-{system.name}-{i % PROBE_USERS}"
        created = time.time()
        t_ms = int(created * 1000)
        sink.send(Event(f"probe-{system.name}-{i}", EventType.CLICK, user, t_ms, "probe"))
        sink.poll(0)
        deadline = time.monotonic() + (timeout_s or out.timeout_ms / 1000)
        while True:
            if system.readable(r, user, t_ms):
                out.samples.append((time.monotonic() - t0, (time.time() - created) * 1000))
                break
            if time.monotonic() > deadline:
                out.timeouts += 1
                break
            time.sleep(POLL_S)
        sink.poll(0)
        i += 1
        next_at = t0 + i / rate
        time.sleep(max(0.0, next_at - time.monotonic()))


def run_freshness(
    system: System,
    bootstrap: str,
    topic: str,
    r: redis.Redis,
    rate: float,
    duration_s: float,
    probe_rate: float,
    users: int,
) -> Freshness:
    """Load at ``rate`` for ``duration_s`` s with probes at ``probe_rate``/s; returns the result."""
    result = Freshness(rate)
    proc, summary = start_producer(topic, rate, duration_s, users, seed=99)
    time.sleep(1.5)  # the producer's start-up: probe under load only
    with EventSink(bootstrap, topic, **{"linger.ms": 0}) as sink:
        # the probe producer's first send waits ~0.5 s for its connection and the topic's
        # metadata: time the system, not that (it was every run's slowest probe)
        warm_user = f"probe-{system.name}-warm-up"
        sink.send(Event(warm_user, EventType.CLICK, warm_user, int(time.time() * 1000), "probe"))
        sink.flush(10.0)
        th = threading.Thread(
            target=probe, args=(system, sink, r, probe_rate, duration_s - 2, result), daemon=True
        )
        th.start()
        th.join()
    result.producer = finish_producer(proc, summary)
    return result
