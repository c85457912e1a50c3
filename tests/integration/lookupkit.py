"""Helpers of the lookup tests: write users' features in the job's layout, as the job user
(:mod:`userpulse.sinks.seed`)."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence

from tests import REPO_ROOT
from userpulse import redis_conn
from userpulse.events import Event, EventType
from userpulse.features import TILE_SIZES_MS
from userpulse.profile import Profile, fold, revive
from userpulse.settings import Settings
from userpulse.sinks.seed import UserState, seed
from userpulse.stack.redis_server import RedisServer
from userpulse.tiles import TileValue, add_event, empty_tile

T0 = 1717243200000  # 2024-06-01T12:00:00Z
PASSWORDS = {f"redis_{r}_password": f"lookup-test-{r}-pw" for r in ("job", "lookup", "admin")}


def password_env(settings: Settings) -> dict[str, str]:
    """``USERPULSE_REDIS_<ROLE>_PASSWORD`` of ``settings`` for a child process's environment."""
    out = {}
    for role in ("job", "lookup", "admin"):
        secret = getattr(settings, f"redis_{role}_password")
        if secret is not None:
            out[f"USERPULSE_REDIS_{role.upper()}_PASSWORD"] = secret.get_secret_value()
    return out


@contextlib.contextmanager
def start_redis(extra_args: Sequence[str] = ()) -> Iterator[Settings]:
    """A Redis of its own (no Kafka) started by the project's :class:`RedisServer` on a free
    port, with the ACL users and the passwords :data:`PASSWORDS`; stopped and removed on exit.

    Args:
        extra_args: more ``redis-server`` arguments (they override the project's defaults).
    """
    from tests.integration.clusterkit import free_ports

    home = REPO_ROOT / ".userpulse" / "test" / f"redis-{uuid.uuid4().hex[:8]}"
    s = Settings(_env_file=None, home=home, redis_port=free_ports(1)[0], **PASSWORDS)  # type: ignore[call-arg, arg-type]
    server = RedisServer(s, extra_args=extra_args)
    try:
        server.start()
        yield s
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


def sample_events(user: str, t0_ms: int = T0) -> list[Event]:
    """3 clicks, 2 hovers (dwell 100 + 250 ms), 1 scroll (depth 0.5) within 10 s after t0."""
    e = [
        Event(f"{user}-c{i}", EventType.CLICK, user, t0_ms + 1_000 * i, "s", item_id=f"i{i}")
        for i in range(3)
    ]
    e += [
        Event(f"{user}-h0", EventType.HOVER, user, t0_ms + 4_000, "s", item_id="i9", dwell_ms=100),
        Event(f"{user}-h1", EventType.HOVER, user, t0_ms + 5_000, "s", item_id="i9", dwell_ms=250),
        Event(f"{user}-s0", EventType.SCROLL, user, t0_ms + 9_000, "s", scroll_depth=0.5),
    ]
    return e


def write_events(
    settings: Settings,
    events: Iterable[Event],
    lateness_ms: int = 600_000,
    premerged_as_of_ms: int | None = None,
    premerged: bool = True,
) -> None:
    """Fold in-order ``events`` into tiles and profiles as the job does and write them with
    :func:`userpulse.sinks.seed.seed`, connected as the job ACL user (pre-merged fields as of
    ``premerged_as_of_ms``, UTC epoch ms; None: now).

    Raises:
        redis.exceptions.NoPermissionError: the job user lacks a permission the writes need.
    """
    tiles: dict[str, dict[tuple[int, int], TileValue]] = {}
    profiles: dict[str, Profile] = {}
    last_seen: dict[str, int] = {}
    for e in sorted(events, key=lambda x: x.event_time_ms):
        mine = tiles.setdefault(e.user_id, {})
        for g in TILE_SIZES_MS:
            add_event(mine.setdefault((g, e.event_time_ms // g), empty_tile()), e)
        p = profiles.get(e.user_id) or profiles.setdefault(e.user_id, revive(None, e))
        fold(p, e, e.event_time_ms - 5_000, lateness_ms)
        last_seen[e.user_id] = max(last_seen.get(e.user_id, e.event_time_ms), e.event_time_ms)
    states = [UserState(u, t, last_seen[u], profiles[u]) for u, t in tiles.items()]
    seed(
        redis_conn.connect_writer(settings, "job"),
        states,
        premerged_as_of_ms=premerged_as_of_ms,
        premerged=premerged,
    )
