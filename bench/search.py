"""Sustained throughput: rate steps with the consumer lag sampled, then a search over rates.

A step drives synthetic traffic (``userpulse produce synthetic`` as a child process: Zipf users,
seeded) at one rate for ``step_s`` seconds into the system's topic and samples once a second
``lag = records appended to the topic - records the system counted`` (both since the step began;
times from the first record the producer delivered, so its start-up is not counted). The system
keeps up when the lag stays bounded: the lag at the end of the step (median of the samples of
its last :data:`TAIL_S` seconds) is at most 1 s of traffic (a system 2% short of the rate is 1.2 s
behind after 60 s), and so is the count the system is short of what the producer delivered, read
once the producer has exited (its own delivery count: independent of the topic-size probe). When
the sampling itself stalls (a loaded machine: the size probe's ListOffsets waited 43 s on
2026-12-01), the tail holds only the samples taken at the end, never earlier ones.
The search steps the rate up by ``growth`` until a step fails (or the producer cannot hold the
rate, or ``max_rate``), then bisects once between the last good and the first bad rate; the
sustained rate is the highest good one. A step the system kept up with while the producer fell
short of its rate ends the search; it counts, at the rate the system processed (a lower bound),
when that is at least 95% of what the producer reached.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import REPO_ROOT, machine_cpu
from bench.systems import System, TopicSize

CREDIT_FRACTION = 0.95
"""A producer-limited step counts (at its processed rate) when it processed this share of the
producer's achieved rate."""
SAMPLE_S = 0.5
"""Lag sampling interval, seconds."""
TAIL_S = 2.0
"""The verdict reads the lag samples of the step's last ``TAIL_S`` seconds (of sending)."""
PRODUCER_PROCESS_RATE = 24_000
"""Above this rate the load producer uses two processes. Alone on an idle machine (2026-12-01,
15-s runs of ``userpulse produce synthetic --users 50000``) one process held 16,875/s and 21,000/s
(at most 5-12 ms behind) on 9.2 and 10.5 s of CPU, while two processes took 13.7 s at 16,875/s
(each its own interpreter, imports and librdkafka) and started 3 s later: CPU the system under
test needs on the same cores. A step the producer cannot hold is flagged ``producer_limited``
(see :func:`search`); the limit was 12,000/s before, when one process had reached only 15,800 of
16,875/s on a shared machine (2026-11-30)."""


@dataclass
class Step:
    """One rate step of a system.

    Attributes:
        rate: target rate, events/s.
        duration_s: step length, s.
        achieved_rate: the producer's rate over the step, events/s.
        producer_behind_s: the producer's worst lag behind its schedule, s.
        processed_rate: records the system counted per second during the step.
        lag: ``(seconds since the step began, lag in records)`` samples.
        max_lag_first_half, max_lag_second_half, final_lag: records.
        short_at_end: records the producer delivered that the system had not counted when the
            producer exited.
        backlog_at_start: records of earlier steps still queued when the step began (not
            counted as this step's).
        max_sample_gap_s: longest time between two lag samples, s (> a few seconds: the
            machine starved the bench itself).
        keeps_up: the lag stayed bounded (module docstring, :func:`verdict`).
        producer_limited: the producer reached < 97% of the rate (the step says nothing).
        drain_s: seconds after the step until the lag was back under 1% (or the drain timeout).
        cpu_cores: the machine's cores by process group (:mod:`bench.machine_cpu`: producer,
            broker, redis, taskmanager, ..., machine, unattributed) from the first record to
            the last lag sample, each process at its last reading (also after it exited);
            empty when fewer than two samples.
    """

    rate: float
    duration_s: float
    achieved_rate: float = 0.0
    producer_behind_s: float = 0.0
    processed_rate: float = 0.0
    lag: list[tuple[float, float]] = field(default_factory=list)
    max_lag_first_half: float = 0.0
    max_lag_second_half: float = 0.0
    final_lag: float = 0.0
    short_at_end: float = 0.0
    backlog_at_start: float = 0.0
    max_sample_gap_s: float = 0.0
    keeps_up: bool = False
    producer_limited: bool = False
    drain_s: float = 0.0
    cpu_cores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view (lag samples rounded)."""
        d = asdict(self)
        d["lag"] = [[round(t, 1), round(v)] for t, v in self.lag]
        return d


def producer_argv(
    topic: str, rate: float, duration_s: float, users: int, seed: int, summary: Path
) -> list[str]:
    """Command line of the load producer for one step."""
    procs = 2 if rate > PRODUCER_PROCESS_RATE else 1
    return [
        sys.executable, "-m", "userpulse", "produce", "synthetic",
        "--rate", f"{rate:.3f}", "--duration", f"{duration_s:.3f}", "--users", str(users),
        "--seed", str(seed), "--topic", topic, "--quiet", "--processes", str(procs),
        "--summary-json", str(summary),
    ]  # fmt: skip


def start_producer(
    topic: str, rate: float, duration_s: float, users: int, seed: int
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start the load producer; returns the process and the path of its JSON summary."""
    summary = Path(tempfile.mkstemp(prefix="bench-producer-", suffix=".json")[1])
    argv = producer_argv(topic, rate, duration_s, users, seed, summary)
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, summary


def finish_producer(proc: subprocess.Popen[bytes], summary: Path) -> dict[str, Any]:
    """Wait for the producer and read its summary (``{}`` when it wrote none)."""
    _, err = proc.communicate(timeout=600)
    try:
        return dict(json.loads(summary.read_text() or "{}"))
    except (OSError, ValueError):
        sys.stderr.write(err.decode(errors="replace")[-2000:])
        return {}
    finally:
        summary.unlink(missing_ok=True)


def wait_drained(
    system: System, size: TopicSize, base_lag: float, tol: float, timeout_s: float
) -> float:
    """Wait until ``topic size - counted - base_lag <= tol``; returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        c = system.counted()
        if c is not None and size() - c - base_lag <= tol:
            break
        time.sleep(0.5)
    return time.monotonic() - t0


def run_step(
    system: System, size: TopicSize, topic: str, rate: float, step_s: float, users: int, seed: int
) -> Step:
    """Drive ``rate`` for ``step_s`` seconds and sample the lag (see the module docstring)."""
    step = Step(rate, step_s)
    c0 = system.counted() or 0.0
    p0 = size()
    # records of an earlier step still queued (a failed step's drain can time out): the system
    # counts them first, so they are not counted as keeping up with this step's traffic
    step.backlog_at_start = max(0.0, p0 - c0 - system.base_lag)
    old = step.backlog_at_start
    proc, summary_path = start_producer(topic, rate, step_s, users, seed)
    t0 = time.monotonic()
    t_first: float | None = None  # first sample with records in the topic: the producer is up
    c_first = c0
    cpu_first: machine_cpu.Snapshot | None = None  # the first sample's
    cpu_last: machine_cpu.Snapshot | None = None  # every later sample's, merged
    while proc.poll() is None:
        time.sleep(SAMPLE_S)
        c = system.counted()
        if c is None:
            continue
        produced = size() - p0
        t = time.monotonic() - t0
        if t_first is None and produced > 0:
            t_first, c_first = t, c
        if t_first is not None:
            step.lag.append((t - t_first, produced - max(0.0, c - c0 - old)))
            snap = machine_cpu.snapshot()
            if cpu_first is None:
                cpu_first = snap
            else:
                cpu_last = snap if cpu_last is None else machine_cpu.latest(cpu_last, snap)
    t_end = time.monotonic() - t0
    summary = finish_producer(proc, summary_path)
    c_last = system.counted()
    c_end = c0 if c_last is None else c_last
    step.achieved_rate = float(summary.get("achieved_rate_per_s", 0.0))
    step.producer_behind_s = float(summary.get("max_behind_s", 0.0))
    sending_s = t_end - (t_first or 0.0)
    step.processed_rate = (c_end - c_first) / max(sending_s, 1e-9)
    half = sending_s / 2
    first = [v for t, v in step.lag if t <= half]
    second = [v for t, v in step.lag if t > half]
    step.max_lag_first_half = max(first, default=0.0)
    step.max_lag_second_half = max(second, default=0.0)
    delivered = summary.get("delivered")
    if delivered is not None and c_last is not None:
        step.short_at_end = float(delivered) - max(0.0, c_end - c0 - old)
    times = [0.0, *(t for t, _ in step.lag)]
    step.max_sample_gap_s = max(
        (b - a for a, b in zip(times, times[1:], strict=False)), default=0.0
    )
    step.final_lag, step.keeps_up = verdict(step.lag, rate, step.short_at_end)
    if cpu_first is not None and cpu_last is not None:
        step.cpu_cores = machine_cpu.cores_by_group(cpu_first, cpu_last)
    step.producer_limited = step.achieved_rate < 0.97 * rate
    step.drain_s = wait_drained(
        system, size, system.base_lag, max(0.01 * rate, 50), max(60.0, 2 * step_s)
    )
    return step


def verdict(lag: list[tuple[float, float]], rate: float, short_at_end: float) -> tuple[float, bool]:
    """``(final lag, keeps up)`` of one step (module docstring).

    Args:
        lag: ``(s since the first record, records behind)`` samples, in time order.
        rate: the step's target rate, events/s (1 s of traffic is the bound; at least 200).
        short_at_end: records the producer delivered that the system had not counted when the
            producer exited (0 when unknown).

    Returns:
        The median of the samples of the last :data:`TAIL_S` seconds (0.0 without samples) and
        whether both it and ``short_at_end`` are within 1 s of traffic.
    """
    bound = max(rate, 200.0)
    if not lag:
        return 0.0, short_at_end <= bound
    end = lag[-1][0]
    tail = sorted(v for t, v in lag if t >= end - TAIL_S)
    final = tail[len(tail) // 2]
    return final, final <= bound and short_at_end <= bound


def search(
    system: System,
    size: TopicSize,
    topic: str,
    start_rate: float,
    growth: float,
    max_rate: float,
    step_s: float,
    users: int,
    log: Any = print,
) -> tuple[float, list[Step]]:
    """Highest rate the system keeps up with (module docstring); returns it and all steps.

    Returns ``0.0`` as the rate when even ``start_rate`` fails.
    """
    steps: list[Step] = []
    good, bad = 0.0, None
    rate = start_rate
    seed = 11
    while rate <= max_rate:
        step = run_step(system, size, topic, rate, step_s, users, seed)
        seed += 1
        steps.append(step)
        log(f"{system.name}: {rate:,.0f}/s -> processed {step.processed_rate:,.0f}/s, "
            f"lag max {step.max_lag_first_half:,.0f} / {step.max_lag_second_half:,.0f}, "
            f"keeps up {step.keeps_up}, producer {step.achieved_rate:,.0f}/s")  # fmt: skip
        if step.producer_limited and step.keeps_up:
            # the load generator, not the system, is the limit: when the system processed
            # (nearly) all the producer reached, that rate is a lower bound of its sustained rate
            # (a producer of two processes that end apart can make the last lag samples look
            # bounded: the processed rate decides)
            if step.processed_rate >= CREDIT_FRACTION * step.achieved_rate:
                good = max(good, step.processed_rate)
            break
        if not step.keeps_up:
            bad = rate
            break
        good = rate
        rate *= growth
    while bad is not None and good == 0 and rate / growth >= start_rate / growth**3:
        rate /= growth  # even the first rate failed: step down (at most three times)
        step = run_step(system, size, topic, rate, step_s, users, seed)
        seed += 1
        steps.append(step)
        log(f"{system.name}: {rate:,.0f}/s (down) -> keeps up {step.keeps_up}")
        if step.keeps_up:
            good = rate
        else:
            bad = rate
    if bad is not None and good > 0:
        mid = (good + bad) / 2
        step = run_step(system, size, topic, mid, step_s, users, seed)
        steps.append(step)
        log(f"{system.name}: {mid:,.0f}/s (bisect) -> keeps up {step.keeps_up}")
        if step.keeps_up:
            good = mid
    return good, steps
