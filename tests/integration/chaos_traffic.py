"""The traffic of a fault-matrix drill (issue 12): how big a drill is (:class:`Form`, the short
form of ``make test`` and the long one of ``make chaos``), the background producer of synthetic
events (:class:`Streamer`) and the other users' freshness probe of row 8 (:class:`FreshnessProbe`).
Used by :class:`tests.integration.chaoskit.Drill`. Times are seconds (``*_s``).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from userpulse.events import Event
from userpulse.producers.kafka_out import EventSink
from userpulse.producers.synthetic import SyntheticTraffic
from userpulse.settings import Settings

if TYPE_CHECKING:
    from tests.integration.chaoskit import Drill

HOT_USER = "hot-user"


@dataclass(frozen=True)
class Form:
    """How big a drill is: ``rate`` events/s from ``users`` users; each row streams
    ``before_s`` seconds, injects its fault, streams ``after_s`` more; fault durations are
    scaled by ``scale`` (1.0 = the issue's durations, the long form). ``timed_checks``: the
    rows' recovery-time limits (30 s, 10 s, 60 s) fail the row; otherwise (the short form in
    ``make test``, on shared CI machines) the times are only recorded."""

    name: str
    rate: float
    users: int
    before_s: float
    after_s: float
    scale: float
    timed_checks: bool
    checkpoint_interval_ms: int = 2_000


SHORT = Form("short", 150, users=200, before_s=2.0, after_s=3.0, scale=0.25, timed_checks=False)
LONG = Form("long", 300, users=2_000, before_s=10.0, after_s=20.0, scale=1.0, timed_checks=True)


class Streamer:
    """Produces synthetic events to the drill's topic from a background thread at ``form.rate``
    events/s (``hot_share`` of them re-keyed to ``hot_user``, :data:`HOT_USER` unless a row
    picks another), until :meth:`pause`.

    Every event handed to the producer is kept in :attr:`sent` (the reference's input); the
    producer's own buffering and retries carry events across broker outages.
    """

    def __init__(self, s: Settings, form: Form, seed: int = 12) -> None:
        start = int(time.time() * 1000)
        self._events = SyntheticTraffic(seed, users=form.users, start_time_ms=start).events(
            form.rate
        )
        # log_level 2: no librdkafka error lines while a row has the broker down on purpose
        self._sink = EventSink.for_settings(s, log_level=2)
        self._rate = form.rate
        self.sent: list[Event] = []
        self.sent_at: list[float] = []  # time.monotonic() when each event of `sent` was sent
        self.hot_share = 0.0
        self.hot_user = HOT_USER
        self._run = threading.Event()
        self._thread: threading.Thread | None = None

    def resume(self) -> None:
        """Start producing (again)."""
        self._run.set()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def pause(self, flush_timeout_s: float = 120.0) -> None:
        """Stop producing and wait until the broker acknowledged every event.

        Raises:
            AssertionError: some events were not delivered within ``flush_timeout_s``.
        """
        self._run.clear()
        if self._thread is not None:
            self._thread.join()
        self._sink.flush(flush_timeout_s)
        st = self._sink.stats()
        assert st.delivered == len(self.sent) and st.failed == 0, st

    def _loop(self) -> None:
        t0, n0 = time.monotonic(), len(self.sent)
        hot_every = 0
        while self._run.is_set():
            wait = t0 + (len(self.sent) - n0) / self._rate - time.monotonic()
            if wait > 0:
                time.sleep(min(0.05, wait))
                continue
            e = next(self._events)
            hot_every += 1
            if self.hot_share and hot_every % round(1 / self.hot_share) == 0:
                e = dataclasses.replace(e, user_id=self.hot_user)
            self._sink.send(e)
            self.sent_at.append(time.monotonic())
            self.sent.append(e)
            self._sink.poll(0)

    def close(self) -> None:
        """Close the producer."""
        self._sink.close(10)


class FreshnessProbe:
    """Freshness of some users as lookups see it (row 8): for each of their events, the seconds
    from handing it to the producer until the user's lifetime counts include it (a thread polls
    them every ``every_s``, so each figure is up to ``every_s`` late).

    Args:
        drill: whose stream and lookup client are used.
        users: the users to follow (a few dozen: one ``get_many`` per poll).
        every_s: poll interval, seconds.
    """

    def __init__(self, drill: Drill, users: list[str], every_s: float = 0.2) -> None:
        self._drill = drill
        self._users = users
        self._every_s = every_s
        self._times: dict[str, list[float]] = {u: [] for u in users}  # send times, in order
        self._seen = dict.fromkeys(users, 0)
        self._scanned = 0
        self.samples: list[tuple[float, float]] = []  # (sent at, seconds until visible)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (the samples stay)."""
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        st = self._drill.streamer
        while not self._stop.wait(self._every_s):
            n = min(len(st.sent), len(st.sent_at))
            for e, t in zip(st.sent[self._scanned : n], st.sent_at[self._scanned : n], strict=True):
                if e.user_id in self._times:
                    self._times[e.user_id].append(t)
            self._scanned = n
            counts = self._drill.lifetime(self._users)
            now = time.monotonic()
            for u, have in counts.items():
                times = self._times[u]
                while self._seen[u] < min(have, len(times)):
                    sent = times[self._seen[u]]
                    self.samples.append((sent, now - sent))
                    self._seen[u] += 1

    def p99(self, since: float, until: float) -> float:
        """The 99th percentile (nearest rank) of the freshness of events sent between ``since``
        and ``until`` (``time.monotonic()``), seconds; ``nan`` without samples."""
        got = sorted(d for t, d in self.samples if since <= t < until)
        if not got:
            return float("nan")
        return got[min(len(got) - 1, math.ceil(0.99 * len(got)) - 1)]
