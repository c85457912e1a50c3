"""Multi-process load runs: past what one core can produce.

:func:`run_parallel` starts ``processes`` producer processes (``spawn``, so each has its own
interpreter, GIL and librdkafka client). Process ``i`` sends :meth:`LoadSpec.share` ``(i, n)``:
``1/n`` of the rate, seed :func:`~userpulse.producers.load.derive_seed` ``(seed, i)``, the users
whose number
is ``i`` modulo ``n`` (so one user's events still come from one process, in order). All processes
wait for one wall-clock start and share the start event time. They report :class:`Tick`
snapshots to the parent over a queue; the parent shows the combined progress, feeds the
Prometheus metrics and merges the summaries.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import queue
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from rich.console import Console

from userpulse.events import Event
from userpulse.producers.kafka_out import EventSink, ProducerError
from userpulse.producers.load import LoadSpec, run_load
from userpulse.producers.pacing import RunSummary, Tick, progress_bar

START_DELAY_S = 3.0
"""Wall-clock delay before the common start: time for the processes to import and connect."""


def _child(
    index: int,
    count: int,
    spec: LoadSpec,
    bootstrap: str,
    topic: str,
    config: dict[str, Any],
    start_wall_s: float,
    out: Any,
    encoder: Callable[[Event], bytes] | None = None,
) -> None:
    try:
        sink = EventSink(bootstrap, topic, **config)
        if encoder is not None:
            sink.encoder = encoder
        summary = run_load(
            sink,
            spec.share(index, count),
            on_tick=lambda t: out.put(("tick", index, t)),
            start_wall_s=start_wall_s,
        )
        out.put(("done", index, summary))
    except BaseException as exc:  # report, never hang the parent
        out.put(("error", index, f"{type(exc).__name__}: {exc}"))


def merge(summaries: list[RunSummary], target_rate_per_s: float | None) -> RunSummary:
    """One summary of several processes' runs (counts added, times of the longest).

    Raises:
        ValueError: ``summaries`` is empty.
    """
    if not summaries:
        raise ValueError("nothing to merge")
    sent = sum(s.sent for s in summaries)
    duration = max(s.duration_s for s in summaries)
    errors: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for s in summaries:
        errors.update(s.errors)
        kinds.update(s.kinds)
    firsts = [s.first_event_time_ms for s in summaries if s.first_event_time_ms is not None]
    lasts = [s.last_event_time_ms for s in summaries if s.last_event_time_ms is not None]
    return RunSummary(
        source=summaries[0].source,
        sent=sent,
        delivered=sum(s.delivered for s in summaries),
        failed=sum(s.failed for s in summaries),
        undelivered=sum(s.undelivered for s in summaries),
        duration_s=duration,
        achieved_rate_per_s=sent / duration if duration > 0 else 0.0,
        target_rate_per_s=target_rate_per_s,
        max_behind_s=max(s.max_behind_s for s in summaries),
        first_event_time_ms=min(firsts, default=None),
        last_event_time_ms=max(lasts, default=None),
        errors=dict(errors),
        interrupted=any(s.interrupted for s in summaries),
        kinds=dict(kinds),
        processes=len(summaries),
    )


def run_parallel(
    bootstrap: str,
    topic: str,
    spec: LoadSpec,
    processes: int,
    *,
    console: Console | None = None,
    on_tick: Callable[[Tick], None] | None = None,
    producer_config: dict[str, Any] | None = None,
    encoder: Callable[[Event], bytes] | None = None,
) -> RunSummary:
    """Run ``spec`` split over ``processes`` producer processes; return the merged summary.

    Args:
        bootstrap: Kafka bootstrap servers.
        topic: target topic.
        spec: the whole run (rates are totals over all processes).
        processes: number of processes (>= 1, <= ``spec.users``).
        console: rich console for the combined progress; None = silent.
        on_tick: called with the combined :class:`Tick` (for Prometheus metrics).
        producer_config: librdkafka overrides for every process's :class:`EventSink`.
        encoder: the record values' framing (picklable; default single-object), e.g. a
            :class:`userpulse.schemas.registry.ConfluentEncoder`.

    Raises:
        ValueError: ``processes`` out of range.
        ProducerError: a process failed (its error is in the message) or died.
    """
    if processes < 1 or processes > spec.users:
        raise ValueError(f"processes must be in 1..users ({spec.users}), got {processes}")
    start_wall_s = time.time() + START_DELAY_S
    if spec.start_time_ms is None:
        spec = dataclasses.replace(spec, start_time_ms=int(start_wall_s * 1000))
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=_child,
            args=(
                i,
                processes,
                spec,
                bootstrap,
                topic,
                producer_config or {},
                start_wall_s,
                out,
                encoder,
            ),
            daemon=True,
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    ticks: dict[int, Tick] = {}
    done: dict[int, RunSummary] = {}
    bar = progress_bar(console, "synthetic") if console is not None else None
    task = None
    if bar is not None:
        bar.start()
        task = bar.add_task(
            "synthetic", total=spec.expected_count(), rate=0.0, delivered=0, failed=0, behind=0.0
        )
    try:
        while len(done) < processes:
            try:
                kind, index, payload = out.get(timeout=0.5)
            except queue.Empty:
                dead = [i for i, p in enumerate(procs) if not p.is_alive() and i not in done]
                if dead and out.empty():
                    raise ProducerError(
                        f"producer process(es) {dead} died without a summary"
                    ) from None
                continue
            if kind == "error":
                raise ProducerError(f"producer process {index} failed: {payload}")
            if kind == "done":
                done[index] = payload
                continue
            ticks[index] = payload
            total = _combine(list(ticks.values()))
            if on_tick is not None:
                on_tick(total)
            if bar is not None and task is not None:
                bar.update(
                    task,
                    completed=total.sent,
                    rate=total.rate_per_s,
                    delivered=total.delivered,
                    failed=total.failed,
                    behind=total.behind_s,
                )
    finally:
        if bar is not None:
            bar.stop()
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
    target = (
        spec.profile.base_rate_per_s if spec.constant else spec.expected_count() / spec.duration_s
    )
    return merge([done[i] for i in range(processes)], target)


def _combine(ticks: list[Tick]) -> Tick:
    errors: Counter[str] = Counter()
    for t in ticks:
        errors.update(t.errors)
    return Tick(
        sent=sum(t.sent for t in ticks),
        delivered=sum(t.delivered for t in ticks),
        failed=sum(t.failed for t in ticks),
        errors=dict(errors),
        elapsed_s=max(t.elapsed_s for t in ticks),
        rate_per_s=sum(t.rate_per_s for t in ticks),
        behind_s=max(t.behind_s for t in ticks),
        done=all(t.done for t in ticks),
    )
