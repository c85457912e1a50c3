"""The refresh of the pre-merged window fields during the lookup benchmark (:mod:`bench.lookups`).

The benchmark writes its users once (:func:`userpulse.sinks.seed.seed`), with no feature job
running; as time passes their pre-merged "as of T" values stop holding (a tile leaves a window)
and lookups fall back to the full merge. :class:`Refresher` does what the writer's refresh timer
does (:mod:`userpulse.premerge`): each user's pre-merged fields are written again as of now when
the earliest window value stops holding, rounded up to ``coarsen_ms`` (one write covers every
window expiring in that interval), in a background thread with plain pipelined ``HSET``.
It counts the writes and bytes, which is the refresh's cost on the writer.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Sequence
from typing import Any

from userpulse import layout, redis_conn
from userpulse.settings import Settings
from userpulse.sinks.seed import UserState, premerged_fields


def _due(until_ms: int | None, coarsen_ms: int) -> int | None:
    """When to refresh: ``until_ms`` rounded up to a multiple of ``coarsen_ms`` (None: never)."""
    if until_ms is None:
        return None
    return -(-until_ms // coarsen_ms) * coarsen_ms


class Refresher:
    """Refresh the pre-merged fields of ``states`` (already written as of ``as_of_ms``) when they
    stop holding, until :meth:`stop`.

    Args:
        settings: the Redis the states were written to (connects as the job user).
        states: the users written.
        as_of_ms: T they were written as of, UTC epoch ms.
        coarsen_ms: timer resolution in ms (refreshes are rounded up to a multiple of it).
    """

    def __init__(
        self,
        settings: Settings,
        states: Sequence[UserState],
        as_of_ms: int,
        coarsen_ms: int = 1_000,
    ) -> None:
        self._r = redis_conn.connect_writer(settings, "job")
        self._coarsen_ms = coarsen_ms
        self._heap: list[tuple[int, int]] = []
        self._states = list(states)
        for i, s in enumerate(self._states):
            due = _due(premerged_fields(s, as_of_ms)[1], coarsen_ms)
            if due is not None:
                self._heap.append((due, i))
        heapq.heapify(self._heap)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="premerge-refresh", daemon=True)
        self.writes = 0
        self.bytes = 0

    def start(self) -> Refresher:
        """Start the background thread; returns self."""
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        """Stop the thread; ``{"writes", "bytes", "writes_per_s", "users", "coarsen_ms"}``."""
        self._stop.set()
        self._thread.join(10)
        wall = max(time.monotonic() - self._started, 1e-9)
        return {
            "users": len(self._states),
            "coarsen_ms": self._coarsen_ms,
            "writes": self.writes,
            "bytes": self.bytes,
            "writes_per_s": round(self.writes / wall, 1),
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            now = int(time.time() * 1000)
            pipe = self._r.pipeline(transaction=False)
            n = 0
            while self._heap and self._heap[0][0] <= now:
                _, i = heapq.heappop(self._heap)
                s = self._states[i]
                fields, until = premerged_fields(s, now)
                pipe.hset(layout.user_key(s.user_id), mapping=fields)  # type: ignore[arg-type]
                self.bytes += sum(len(f) + len(v) for f, v in fields.items())
                n += 1
                due = _due(until, self._coarsen_ms)
                if due is not None:
                    heapq.heappush(self._heap, (max(due, now + 1), i))
            if n:
                pipe.execute()
                self.writes += n
            wait_s = 0.05 if not self._heap else (self._heap[0][0] - now) / 1000
            self._stop.wait(min(max(wait_s, 0.005), 0.2))


def premerged_bytes(states: Sequence[UserState], as_of_ms: int) -> dict[str, float]:
    """Bytes (field names + values) of the pre-merged fields per user as of ``as_of_ms``:
    ``{"mean", "max"}``, and ``{"tiles_mean"}``: the bytes of the user's tile fields, for scale."""
    sizes = [
        sum(len(f) + len(v) for f, v in premerged_fields(s, as_of_ms)[0].items()) for s in states
    ]
    tiles = [
        sum(
            len(layout.tile_field(g, k)) + len(layout.encode_tile(v))
            for (g, k), v in s.tiles.items()
        )
        for s in states
    ]
    n = max(len(states), 1)
    return {
        "mean": round(sum(sizes) / n, 1),
        "max": max(sizes, default=0),
        "tiles_mean": round(sum(tiles) / n, 1),
    }
