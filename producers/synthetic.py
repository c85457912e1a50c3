"""Seeded synthetic click / scroll / hover traffic, and a paced run of it into Kafka.

:class:`SyntheticTraffic` is a pure generator: the same arguments give the same events, byte for
byte (one ``random.Random(seed)``; event ids are ``syn-<seed>-<counter>``, never uuid4). Event
``i`` of a stream at rate R has event time ``start_time_ms + int(i * 1000 / R)``, UTC epoch ms;
no local time is involved anywhere, so the ``TZ`` environment variable changes nothing.

The traffic model (constants below; all durations in ms):

- Users and items are Zipf-distributed: rank k (1-based) has weight ``k ** -s`` (default s = 1.1,
  Zipf's law as in Breslau et al., "Web caching and Zipf-like distributions", 1999). Ranks map
  to ids through a fixed permutation, so ids do not sort by popularity.
- Sessions: a user picked by Zipf starts (or joins) a session; after each event the session
  continues with probability ``1 - 1/MEAN_SESSION_EVENTS`` and the user comes back after a
  log-normal think time (median :data:`THINK_MEDIAN_MS`). Users whose think time is due are
  served first; otherwise a new Zipf pick is made. A gap of more than 30 min
  (:data:`SESSION_GAP_MS`, the design's session rule) starts a new ``session_id``.
- Types follow :class:`EventMix` (default click 0.2 / scroll 0.3 / hover 0.5). HOVER
  ``dwell_ms`` is log-normal with median 1.2 s (sigma 1.0); SCROLL ``scroll_depth`` is
  Beta(2, 3) (mean 0.4) on the page last clicked, ``scroll_px`` = depth * 12,000 px; a CLICK
  lands on the item last hovered with probability 0.5, else on a Zipf item.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from heapq import heappop, heappush

from rich.console import Console

from userpulse.events import Event, EventType
from userpulse.producers.kafka_out import EventSink
from userpulse.producers.pacing import RunSummary

SESSION_GAP_MS = 30 * 60 * 1000
"""Inactivity that ends a session (design section 4: 30 min)."""
THINK_MEDIAN_MS = 4_000.0
THINK_SIGMA = 1.0
THINK_MAX_MS = 10 * 60 * 1000
MEAN_SESSION_EVENTS = 20
DWELL_MEDIAN_MS = 1_200.0
DWELL_SIGMA = 1.0
SCROLL_BETA = (2.0, 3.0)
PAGE_HEIGHT_PX = 12_000
CLICK_LAST_HOVER_P = 0.5
DEVICES = (("mobile", 0.6), ("desktop", 0.32), ("tablet", 0.08))
SURFACES = (("home", 0.45), ("article", 0.25), ("search", 0.15), ("category", 0.15))
ROW_P = 0.35
"""Rows (0-based) are geometric: P(row = r) = ROW_P * (1 - ROW_P) ** r, capped at 19."""
POSITION_P = 0.25
"""Click positions (0-based) are geometric with this parameter, capped at 29."""


@dataclass(frozen=True)
class EventMix:
    """Relative weights of the event types (normalised; need not sum to 1).

    Raises:
        ValueError: a weight is negative or not finite, or all are zero.
    """

    click: float = 0.2
    scroll: float = 0.3
    hover: float = 0.5

    def __post_init__(self) -> None:
        ws = (self.click, self.scroll, self.hover)
        if any(not math.isfinite(w) or w < 0 for w in ws) or sum(ws) <= 0:
            raise ValueError(f"mix weights must be finite, >= 0 and not all 0, got {ws}")

    @classmethod
    def parse(cls, text: str) -> EventMix:
        """Parse ``"click=0.2,scroll=0.3,hover=0.5"`` (missing types get weight 0).

        Raises:
            ValueError: unknown type name or a value that is not a number.
        """
        weights = {"click": 0.0, "scroll": 0.0, "hover": 0.0}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            if name.strip().lower() not in weights:
                raise ValueError(f"unknown event type {name!r} in mix (use click, scroll, hover)")
            weights[name.strip().lower()] = float(value)
        return cls(**weights)

    def fractions(self) -> dict[EventType, float]:
        """Normalised probabilities per type."""
        total = self.click + self.scroll + self.hover
        return {
            EventType.CLICK: self.click / total,
            EventType.SCROLL: self.scroll / total,
            EventType.HOVER: self.hover / total,
        }


class _Zipf:
    """Sampler of ranks 0..n-1 with P(rank k) proportional to (k + 1) ** -s, mapped to ids.

    With ``stride`` > 1 the sampler is shard ``offset`` of a population of ``n * stride``-ish ids:
    id numbers are ``perm(rank) * stride + offset`` (disjoint between shards), ``width`` digits.
    """

    def __init__(
        self, n: int, s: float, prefix: str, stride: int = 1, offset: int = 0, width: int = 0
    ) -> None:
        self._cum = list(itertools.accumulate((k + 1) ** -s for k in range(n)))
        self._total = self._cum[-1]
        self._last = n - 1
        # Fixed permutation rank -> id number: multiplication by a unit modulo n.
        mult = 2_654_435_761 % n or 1
        while math.gcd(mult, n) != 1:
            mult += 1
        width = width or len(str(n - 1))
        self._ids = [
            f"{prefix}{((k * mult + 7) % n) * stride + offset:0{width}d}" for k in range(n)
        ]

    def rank(self, rnd: Callable[[], float]) -> int:
        """A rank drawn with the uniform [0, 1) source ``rnd``."""
        return min(bisect_right(self._cum, rnd() * self._total), self._last)

    def id_of(self, rank: int) -> str:
        return self._ids[rank]


class _UserState:
    __slots__ = ("active", "device", "last_hover_item", "last_ms", "page_item", "session_no")

    def __init__(self) -> None:
        self.active = False
        self.device = ""
        self.last_hover_item: str | None = None
        self.last_ms: int | None = None
        self.page_item: str | None = None
        self.session_no = 0


def _cumulative(pairs: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    return [p[0] for p in pairs], list(itertools.accumulate(p[1] for p in pairs))


class SyntheticTraffic:
    """Deterministic generator of realistic events (see the module docstring for the model).

    Args:
        seed: random seed; same seed and arguments -> same events.
        users: number of distinct users (>= 1).
        zipf_s: Zipf exponent of user popularity (>= 0; 0 = uniform).
        mix: event-type weights.
        start_time_ms: event time of the first event, UTC epoch ms; None = the wall clock now.
        items: number of distinct items (>= 1).
        item_zipf_s: Zipf exponent of item popularity (>= 0).
        shard: ``(index, count)``: generate only the users whose number is ``index`` modulo
            ``count`` (multi-process mode: each process owns a disjoint slice of the users, so
            one user's events keep their order). Default ``(0, 1)``: all users.

    Raises:
        ValueError: an argument is out of range (the message names it).
    """

    def __init__(
        self,
        seed: int,
        users: int = 10_000,
        zipf_s: float = 1.1,
        mix: EventMix | None = None,
        start_time_ms: int | None = None,
        items: int = 50_000,
        item_zipf_s: float = 1.1,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        index, n_shards = shard
        if not 0 <= index < n_shards or n_shards > users:
            raise ValueError(
                f"shard must be (index, count) with 0 <= index < count <= users, {shard}"
            )
        if users < 1 or items < 1:
            raise ValueError(f"users and items must be >= 1, got users={users}, items={items}")
        if not (math.isfinite(zipf_s) and zipf_s >= 0 and math.isfinite(item_zipf_s)):
            raise ValueError(f"zipf_s must be a finite number >= 0, got {zipf_s}")
        if item_zipf_s < 0:
            raise ValueError(f"item_zipf_s must be >= 0, got {item_zipf_s}")
        self.seed = seed
        self.users = users
        self.mix = mix or EventMix()
        self.start_time_ms = time.time_ns() // 1_000_000 if start_time_ms is None else start_time_ms
        own_users = len(range(index, users, n_shards))
        self._user_zipf = _Zipf(
            own_users, zipf_s, "u", stride=n_shards, offset=index, width=len(str(users - 1))
        )
        self._item_zipf = _Zipf(items, item_zipf_s, "i")

    def events(self, rate_per_s: float, count: int | None = None) -> Iterator[Event]:
        """Yield events whose event times advance at ``rate_per_s`` events per second.

        Args:
            rate_per_s: target rate (> 0); event ``i`` is at ``start_time_ms + int(i*1000/rate)``.
            count: stop after this many events; None = endless.

        Raises:
            ValueError: ``rate_per_s`` is not a positive finite number.
        """
        if not (math.isfinite(rate_per_s) and rate_per_s > 0):
            raise ValueError(f"rate_per_s must be a positive number, got {rate_per_s}")
        if count is not None and count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        counter = range(count) if count is not None else itertools.count()
        return self._generate(int(i * 1000.0 / rate_per_s) for i in counter)

    def events_at(self, due_s: Iterable[float]) -> Iterator[Event]:
        """Yield one event per due offset: event ``i`` at ``start_time_ms + int(due_s[i] * 1000)``.

        Args:
            due_s: non-decreasing offsets in seconds after the start (for example
                :meth:`userpulse.producers.profile.RateProfile.due_times`).
        """
        return self._generate(int(d * 1000.0) for d in due_s)

    def _generate(self, offsets_ms: Iterable[int]) -> Iterator[Event]:
        rng = random.Random(self.seed)
        rnd, log = rng.random, math.log  # hot loop: local names
        users, items = self._user_zipf, self._item_zipf
        f = self.mix.fractions()
        type_cum = list(itertools.accumulate([f[EventType.CLICK], f[EventType.SCROLL], 1.0]))
        types = (EventType.CLICK, EventType.SCROLL, EventType.HOVER)
        dev_names, dev_cum = _cumulative(DEVICES)
        surf_names, surf_cum = _cumulative(SURFACES)
        think_mu, dwell_mu = math.log(THINK_MEDIAN_MS), math.log(DWELL_MEDIAN_MS)
        log_row, log_pos = math.log(1 - ROW_P), math.log(1 - POSITION_P)
        states: dict[int, _UserState] = {}
        due: list[tuple[int, int, int]] = []  # (due event time ms, tie-break, user rank)
        start_ms = self.start_time_ms
        for i, offset_ms in enumerate(offsets_ms):
            t_ms = start_ms + offset_ms
            if due and due[0][0] <= t_ms:
                rank = heappop(due)[2]
                st = states[rank]
                st.active = False
            else:
                rank = users.rank(rnd)
                st = states.get(rank) or states.setdefault(rank, _UserState())
            if st.last_ms is None or t_ms - st.last_ms > SESSION_GAP_MS:
                st.session_no += 1
                st.device = dev_names[bisect_right(dev_cum, rnd() * dev_cum[-1])]
                st.page_item = st.last_hover_item = None
            st.last_ms = t_ms
            user_id = users.id_of(rank)
            etype = types[min(bisect_right(type_cum, rnd()), 2)]
            surface = surf_names[bisect_right(surf_cum, rnd() * surf_cum[-1])]
            row = min(int(log(1.0 - rnd()) / log_row), 19)
            position = dwell_ms = scroll_px = None
            depth: float | None = None
            item: str | None
            if etype is EventType.CLICK:
                if st.last_hover_item is not None and rnd() < CLICK_LAST_HOVER_P:
                    item = st.last_hover_item
                else:
                    item = items.id_of(items.rank(rnd))
                st.page_item = item
                position = min(int(log(1.0 - rnd()) / log_pos), 29)
            elif etype is EventType.SCROLL:
                item = st.page_item
                depth = round(rng.betavariate(*SCROLL_BETA), 4)
                scroll_px = round(depth * PAGE_HEIGHT_PX)
            else:
                item = items.id_of(items.rank(rnd))
                st.last_hover_item = item
                dwell_ms = round(rng.lognormvariate(dwell_mu, DWELL_SIGMA))
            event = Event(
                event_id=f"syn-{self.seed}-{i}",
                event_type=etype,
                user_id=user_id,
                event_time_ms=t_ms,
                session_id=f"{user_id}.{self.seed}.{st.session_no}",
                item_id=item,
                device=st.device,
                surface=surface,
                row=row,
                position=position,
                dwell_ms=dwell_ms,
                scroll_depth=depth,
                scroll_px=scroll_px,
            )
            yield event
            if not st.active and rnd() >= 1.0 / MEAN_SESSION_EVENTS:
                think = min(rng.lognormvariate(think_mu, THINK_SIGMA), THINK_MAX_MS)
                heappush(due, (t_ms + int(think), i, rank))
                st.active = True


def run_synthetic(
    sink: EventSink,
    rate_per_s: float,
    duration_s: float,
    users: int,
    seed: int,
    progress: bool = True,
    *,
    zipf_s: float = 1.1,
    mix: EventMix | None = None,
    console: Console | None = None,
) -> RunSummary:
    """Send ``round(rate_per_s * duration_s)`` synthetic events, paced at ``rate_per_s``.

    Event ``i`` is due ``i / rate_per_s`` seconds after the start (``time.monotonic``) and carries
    event time ``start + int(i * 1000 / rate)`` where ``start`` is the wall clock (UTC epoch ms) at
    the start, so events are "now" while the producer keeps up (``max_behind_s`` in the summary
    says by how much it did not). The run lasts at least ``duration_s``.

    Args:
        sink: where the events go.
        rate_per_s: target events per second (> 0).
        duration_s: run length in seconds (> 0).
        users: distinct users (>= 1).
        seed: random seed of the traffic.
        progress: show live progress and print the summary table at the end.
        zipf_s: user-popularity Zipf exponent.
        mix: event-type weights (default click 0.2 / scroll 0.3 / hover 0.5).
        console: rich console for progress and summary (default: a new stderr console).

    Returns:
        The run's :class:`~userpulse.producers.pacing.RunSummary`; ``first_event_time_ms`` is the
        start
        time, so ``SyntheticTraffic(seed, users, zipf_s, mix, first_event_time_ms)`` regenerates
        exactly the events sent.

    Raises:
        ValueError: a rate, duration or traffic argument is out of range.
    """
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s must be a positive number of seconds, got {duration_s}")
    if not (math.isfinite(rate_per_s) and rate_per_s > 0):
        raise ValueError(f"rate_per_s must be a positive number, got {rate_per_s}")
    from userpulse.producers.load import LoadSpec, run_load  # load builds on this module
    from userpulse.producers.profile import RateProfile

    spec = LoadSpec(
        RateProfile(rate_per_s),
        duration_s,
        users=users,
        seed=seed,
        zipf_s=zipf_s,
        mix=mix or EventMix(),
    )
    out = (console or Console(stderr=True)) if progress else None
    summary = run_load(sink, spec, console=out)
    if out is not None:
        out.print(summary.table())
    return summary
