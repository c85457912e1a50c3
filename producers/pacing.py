"""Send a stream of events at a schedule, with live progress and a final summary.

Both producers (synthetic traffic and replay of recorded logs) hand :func:`pump` an iterable of
``(due_s, item)`` pairs: ``due_s`` is when the item should leave, in seconds after the start on
``time.monotonic`` (None = as soon as possible); an item is an :class:`~userpulse.events.Event`
(encoded by the sink) or a :class:`RawRecord` (bytes as they are: pre-encoded or malformed).
Pacing is absolute (event ``i`` is due at its own time, not "previous send + gap"), so the rate
does not drift with per-event overhead: the loop sends whatever is due and, when it is more than
:data:`SLEEP_GRANULARITY_S` ahead, waits inside ``producer.poll`` (serving delivery reports
meanwhile). :func:`schedule` turns recorded event
times into such due times for replay.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from userpulse.events import Event
from userpulse.producers.kafka_out import EventSink

SLEEP_GRANULARITY_S = 0.001
"""Events due within this many seconds are sent now; ahead by more, the loop waits."""
MAX_WAIT_S = 0.1
"""Longest single wait (seconds), so progress and Ctrl-C stay responsive."""
DEFAULT_MAX_SLEEP_S = 1.0
"""Replay: longest pause between two consecutive events (seconds, after dividing by speed)."""
PROGRESS_EVERY_S = 0.25
POLL_EVERY = 1_000
"""Serve delivery reports after this many sends even when never waiting."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A record sent as bytes, not encoded by the sink.

    Attributes:
        key: record key bytes (the user id's UTF-8), or None.
        value: record value bytes, or None for a tombstone.
        event_time_ms: event time the record stands for (UTC epoch ms), None if it has none.
        kind: what it is, counted in the summary's ``kinds``: ``event``, ``out_of_order``,
            ``late`` or ``malformed:<class>`` (see :mod:`userpulse.producers.faults`).
    """

    key: bytes | None
    value: bytes | None
    event_time_ms: int | None = None
    kind: str = "event"


class Timed(NamedTuple):
    """A record with the time it is due, what :func:`pump` sends.

    Attributes:
        due_s: seconds after the run's start when it should be sent; None = at once.
        record: an :class:`Event` (the sink encodes it) or a :class:`RawRecord` (sent as is).
    """

    due_s: float | None
    record: Event | RawRecord


@dataclass(frozen=True)
class Tick:
    """Live counters of a running :func:`pump`, handed to its ``on_tick`` hook.

    Attributes:
        sent, delivered, failed: counts since the run started.
        errors: delivery errors by librdkafka error name since the run started.
        elapsed_s: seconds since the start (monotonic).
        rate_per_s: send rate over the last interval, events/s.
        behind_s: how far the newest send was behind its due time, seconds (0 = on time).
        done: True on the last tick of the run (after the final flush).
    """

    sent: int
    delivered: int
    failed: int
    errors: dict[str, int]
    elapsed_s: float
    rate_per_s: float
    behind_s: float
    done: bool = False


@dataclass(frozen=True)
class RunSummary:
    """What one producer run did.

    Attributes:
        source: ``synthetic`` or ``replay:<dataset>``.
        sent: records handed to the producer in this run.
        delivered: records acknowledged by the broker.
        failed: records whose delivery failed (errors by name in ``errors``).
        undelivered: records still without a delivery report when the final flush timed out.
        duration_s: wall-clock seconds of the send phase (monotonic clock; excludes the flush).
        achieved_rate_per_s: ``sent / duration_s``.
        target_rate_per_s: requested rate, None for "as fast as possible".
        max_behind_s: worst lag of a send behind its schedule (0 when the target was held).
        first_event_time_ms, last_event_time_ms: event-time range sent (UTC epoch ms).
        skipped: source records not sent, by reason (for example OTTO ``carts``).
        errors: delivery errors of this run by librdkafka error name.
        interrupted: True when Ctrl-C stopped the run early.
        kinds: records sent by kind (``event``, ``out_of_order``, ``late``, ``malformed:<class>``);
            empty when only events were sent.
        processes: producer processes that made this run (1 unless ``--processes``).
    """

    source: str
    sent: int
    delivered: int
    failed: int
    undelivered: int
    duration_s: float
    achieved_rate_per_s: float
    target_rate_per_s: float | None
    max_behind_s: float
    first_event_time_ms: int | None
    last_event_time_ms: int | None
    skipped: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    kinds: dict[str, int] = field(default_factory=dict)
    processes: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The summary as a JSON-able dict (field names as above, rate error in percent added)."""
        d = asdict(self)
        if self.target_rate_per_s:
            d["rate_error_pct"] = round(
                100 * (self.achieved_rate_per_s - self.target_rate_per_s) / self.target_rate_per_s,
                3,
            )
        return d

    def table(self) -> Table:
        """The summary as a two-column rich table."""
        t = Table(title=f"userpulse produce {self.source}", show_header=False)
        t.add_column("metric", style="bold")
        t.add_column("value", justify="right")
        target = "max" if self.target_rate_per_s is None else f"{self.target_rate_per_s:,.1f}"
        rows = [
            ("sent", f"{self.sent:,}"),
            ("delivered", f"{self.delivered:,}"),
            ("failed", f"{self.failed:,}"),
            ("undelivered after flush", f"{self.undelivered:,}"),
            ("duration (s)", f"{self.duration_s:,.3f}"),
            ("achieved rate (events/s)", f"{self.achieved_rate_per_s:,.1f}"),
            ("target rate (events/s)", target),
            ("max behind schedule (s)", f"{self.max_behind_s:,.3f}"),
            ("event time first (UTC ms)", str(self.first_event_time_ms)),
            ("event time last (UTC ms)", str(self.last_event_time_ms)),
        ]
        rows += [(f"skipped: {k}", f"{v:,}") for k, v in sorted(self.skipped.items())]
        rows += [(f"error: {k}", f"{v:,}") for k, v in sorted(self.errors.items())]
        rows += [(f"kind: {k}", f"{v:,}") for k, v in sorted(self.kinds.items())]
        if self.processes > 1:
            rows.append(("processes", str(self.processes)))
        if self.interrupted:
            rows.append(("interrupted", "yes (Ctrl-C)"))
        for name, value in rows:
            t.add_row(name, value)
        return t


def _progress(console: Console, source: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{source}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>10,.0f} ev/s"),
        TextColumn("delivered {task.fields[delivered]:,}"),
        TextColumn("failed {task.fields[failed]:,}"),
        TextColumn("behind {task.fields[behind]:,.2f} s"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def progress_bar(console: Console, source: str) -> Progress:
    """The live progress display of a producer run (fields rate, delivered, failed, behind)."""
    return _progress(console, source)


def pump(
    sink: EventSink,
    timed_events: Iterable[Timed],
    *,
    source: str,
    total: int | None,
    target_rate_per_s: float | None = None,
    min_duration_s: float = 0.0,
    console: Console | None = None,
    skipped: dict[str, int] | None = None,
    flush_timeout_s: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    on_tick: Callable[[Tick], None] | None = None,
) -> RunSummary:
    """Send ``timed_events`` through ``sink`` on schedule, then flush and summarise.

    Args:
        sink: where the events go.
        timed_events: ``(due_s, item)`` pairs in send order; ``due_s`` in seconds after the start
            (monotonic clock), None = no wait; ``item`` an Event or a :class:`RawRecord`.
        source: label for progress and summary.
        total: number of events expected (progress bar length), None if unknown.
        target_rate_per_s: requested rate, only reported.
        min_duration_s: the send phase lasts at least this long (seconds), so that a paced run of
            N events at rate R reports N / (N / R) = R.
        console: rich console for live progress; None = silent.
        skipped: source records left out, by reason, copied into the summary.
        flush_timeout_s: how long the final flush may wait (seconds).
        clock: monotonic clock in seconds (injectable for tests).
        on_tick: called with a :class:`Tick` every :data:`PROGRESS_EVERY_S` seconds and once at
            the end (``done=True``); used for Prometheus metrics and multi-process progress.

    Returns:
        The :class:`RunSummary` of this run (counters are deltas over the run).
    """
    before = sink.stats()
    bar = _progress(console, source) if console is not None else None
    task: TaskID | None = None
    if bar is not None:
        bar.start()
        task = bar.add_task(source, total=total, rate=0.0, delivered=0, failed=0, behind=0.0)
    sent, max_behind_s, behind_s, interrupted = 0, 0.0, 0.0, False
    kinds: Counter[str] = Counter()
    live = bar is not None or on_tick is not None
    first_ms: int | None = None
    last_ms: int | None = None
    start = clock()
    last_report, last_report_sent = start, 0

    def report(now: float, done: bool = False) -> None:
        nonlocal last_report, last_report_sent
        s = sink.stats()
        rate = (sent - last_report_sent) / max(now - last_report, 1e-9)
        if bar is not None and task is not None:
            bar.update(
                task,
                completed=sent,
                rate=rate,
                delivered=s.delivered - before.delivered,
                failed=s.failed - before.failed,
                behind=behind_s,
            )
        if on_tick is not None:
            errs = {k: v - before.errors.get(k, 0) for k, v in s.errors.items()}
            on_tick(
                Tick(
                    sent=sent,
                    delivered=s.delivered - before.delivered,
                    failed=s.failed - before.failed,
                    errors={k: v for k, v in errs.items() if v > 0},
                    elapsed_s=now - start,
                    rate_per_s=rate,
                    behind_s=behind_s,
                    done=done,
                )
            )
        last_report, last_report_sent = now, sent

    try:
        for due_s, item in timed_events:
            if due_s is not None:
                ahead = due_s - (clock() - start)
                while ahead > SLEEP_GRANULARITY_S:
                    sink.poll(min(ahead, MAX_WAIT_S))
                    ahead = due_s - (clock() - start)
                    if live and clock() - last_report >= PROGRESS_EVERY_S:
                        report(clock())
                behind_s = max(-ahead, 0.0)
                max_behind_s = max(max_behind_s, behind_s)
            if isinstance(item, RawRecord):
                sink.send_raw(item.key, item.value)
                kinds[item.kind] += 1
                t_ms = item.event_time_ms
            else:
                sink.send(item)
                t_ms = item.event_time_ms
            sent += 1
            if t_ms is not None:
                if first_ms is None:
                    first_ms = t_ms
                last_ms = t_ms
            if sent % POLL_EVERY == 0:
                sink.poll(0)
                now = clock()
                if live and now - last_report >= PROGRESS_EVERY_S:
                    report(now)
        remaining = min_duration_s - (clock() - start)
        while remaining > 0:
            sink.poll(min(remaining, MAX_WAIT_S))
            remaining = min_duration_s - (clock() - start)
    except KeyboardInterrupt:
        interrupted = True
    duration_s = clock() - start
    undelivered = sink.flush(flush_timeout_s)
    report(clock(), done=True)
    if bar is not None:
        bar.stop()
    after = sink.stats()
    errors = {
        k: v - before.errors.get(k, 0)
        for k, v in after.errors.items()
        if v - before.errors.get(k, 0) > 0
    }
    return RunSummary(
        source=source,
        sent=sent,
        delivered=after.delivered - before.delivered,
        failed=after.failed - before.failed,
        undelivered=undelivered,
        duration_s=duration_s,
        achieved_rate_per_s=sent / duration_s if duration_s > 0 else 0.0,
        target_rate_per_s=target_rate_per_s,
        max_behind_s=max_behind_s,
        first_event_time_ms=first_ms,
        last_event_time_ms=last_ms,
        skipped=dict(skipped or {}),
        errors=errors,
        interrupted=interrupted,
        kinds=dict(kinds) if set(kinds) - {"event"} else {},
    )


def schedule(
    events: Sequence[Event], speed: float | None, max_sleep_s: float = DEFAULT_MAX_SLEEP_S
) -> Iterator[Timed]:
    """:class:`Timed` ``(due_s, event)`` records: event-time gaps divided by ``speed``, capped
    at ``max_sleep_s``.

    Args:
        events: in send order (normally sorted by event time).
        speed: 1.0 = recorded pace, 10.0 = ten times faster; None or infinity = no waiting.
        max_sleep_s: longest pause between two consecutive events, seconds (>= 0); longer gaps
            (nights, multi-day sessions) are compressed to it.

    Raises:
        ValueError: ``speed`` <= 0 or NaN, or ``max_sleep_s`` < 0.
    """
    if speed is not None and not speed > 0:
        raise ValueError(f"speed must be > 0 (or None for as fast as possible), got {speed}")
    if not max_sleep_s >= 0:
        raise ValueError(f"max_sleep_s must be >= 0, got {max_sleep_s}")
    return _schedule(events, speed, max_sleep_s)


def _schedule(events: Sequence[Event], speed: float | None, max_sleep_s: float) -> Iterator[Timed]:
    if speed is None or math.isinf(speed):
        for e in events:
            yield Timed(None, e)
        return
    due_s, prev_ms = 0.0, None
    for e in events:
        if prev_ms is not None:
            due_s += min(max(e.event_time_ms - prev_ms, 0) / 1000 / speed, max_sleep_s)
        prev_ms = e.event_time_ms
        yield Timed(due_s, e)
