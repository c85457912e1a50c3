"""Sample users for the lookup benchmarks: 30 events each over the last 10 minutes, folded into
tiles and a profile as the job does and written in its layout (:func:`userpulse.sinks.seed.seed`).

Used by :mod:`bench.lookups`, :mod:`bench.lookup_premerged_ab` and the lookup bench's test.
"""

from __future__ import annotations

import random
import time
from typing import Any

from userpulse import redis_conn
from userpulse.settings import Settings


def _user_keys(user_id: str) -> list[str]:
    from userpulse import layout

    return [layout.user_key(user_id), layout.profile_key(user_id)]


def write_sample_users(settings: Settings, n_users: int, seed: int = 1) -> list[str]:
    """Write ``n_users`` users' features (30 events each over the last 10 min, event time =
    now) in the job's layout with :func:`userpulse.sinks.seed.seed` as the job user, after deleting
    those users' keys (admin user, exact keys, no pattern); returns their ids."""
    return [s.user_id for s in write_sample_states(settings, n_users, seed)[0]]


def write_sample_states(
    settings: Settings, n_users: int, seed: int = 1, premerged: bool = True
) -> tuple[list[Any], int]:
    """:func:`write_sample_users`, returning the states written
    (:class:`userpulse.sinks.seed.UserState`) and the time T (UTC epoch ms) of their pre-merged
    fields (``premerged=False``: none written, as the job by default)."""
    from userpulse.events import Event, EventType
    from userpulse.features import TILE_SIZES_MS
    from userpulse.profile import Profile, fold, revive
    from userpulse.sinks.seed import UserState
    from userpulse.sinks.seed import seed as seed_users
    from userpulse.tiles import TileValue, add_event, empty_tile

    rnd = random.Random(seed)
    now = int(time.time() * 1000)
    users = [f"bench-user-{i}" for i in range(n_users)]
    admin = redis_conn.connect(settings, "admin")  # a previous run's users: start afresh
    for i in range(0, n_users, 500):
        admin.unlink(*(k for u in users[i : i + 500] for k in _user_keys(u)))
    states: list[UserState] = []
    for u in users:
        tiles: dict[tuple[int, int], TileValue] = {}
        prof: Profile | None = None
        times = sorted(now - rnd.randrange(600_000) for _ in range(30))
        for j, t in enumerate(times):
            kind = rnd.choice(list(EventType))
            e = Event(f"{u}-{j}", kind, u, t, "s", item_id=f"item-{rnd.randrange(500)}")
            if kind is EventType.HOVER:
                e = e.replace(dwell_ms=rnd.randrange(50, 5_000))
            elif kind is EventType.SCROLL:
                e = e.replace(scroll_depth=rnd.random())
            for g in TILE_SIZES_MS:
                add_event(tiles.setdefault((g, t // g), empty_tile()), e)
            prof = prof or revive(None, e)
            fold(prof, e, t - 5_000, settings.allowed_lateness_ms)
        states.append(UserState(u, tiles, times[-1], prof))
    seed_users(
        redis_conn.connect_writer(settings, "job"),
        states,
        premerged_as_of_ms=now,
        premerged=premerged,
    )
    return states, now
