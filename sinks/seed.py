"""Write given features of users straight into the online store, in the v1 layout.

For tests, benchmarks and loading precomputed features (e.g. a backfill computed offline): the
caller already holds each user's final tiles, profile and last-seen time, and this module writes
them as absolute values with plain pipelined ``HSET`` / ``SET`` / ``EXPIRE`` (no script, no version
check: what is given replaces what is stored, field by field), with the pre-merged "as of now"
window fields (``m``, ``w:<window_ms>``) computed by :mod:`userpulse.premerge`. The feature job
does not use it; its writer keeps the versioned-write rule of ``docs/key-layout.md``. Keys,
field names and value encodings come from :mod:`userpulse.layout` only, so what is written here
is byte for byte what the job writes for the same state.

Works with a ``redis.Redis`` or a ``redis.cluster.RedisCluster`` (whose pipeline groups the
commands per node; a user's keys share one slot). Needs ``HSET``, ``SET`` and ``EXPIRE`` on
``up:v1:*``, which the ``job`` ACL user has.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.cluster import RedisCluster

from userpulse import layout, premerge
from userpulse.tiles import TileValue


@dataclass
class UserState:
    """One user's stored state to write.

    Attributes:
        user_id: 1..128 bytes of UTF-8.
        tiles: ``(tile_ms, index) -> tile value`` (see :data:`userpulse.tiles.TileValue`).
        last_seen_ms: newest event time, UTC epoch ms, or None (field ``ls`` not written).
        profile: the profile (``version`` and ``record_json()``), or ``(version, json text)``,
            or None (profile key not written).
        pruned: ``tile_ms -> highest pruned tile index`` (fields ``p:<tile_ms>``).
    """

    user_id: str
    tiles: Mapping[tuple[int, int], TileValue] = field(default_factory=dict)
    last_seen_ms: int | None = None
    profile: Any = None
    pruned: Mapping[int, int] = field(default_factory=dict)


def _profile_value(p: Any) -> str:
    if isinstance(p, tuple):
        version, doc = p
        return layout.encode_profile(int(version), str(doc))
    return layout.encode_profile(int(p.version), p.record_json())


def premerged_fields(u: UserState, as_of_ms: int) -> tuple[dict[str, str], int | None]:
    """The pre-merged fields of ``u``'s tile hash as of ``as_of_ms`` (UTC epoch ms) and when they
    stop holding (:func:`userpulse.premerge.fields`); versioned by the profile's version."""
    if u.profile is None:
        version = None
    elif isinstance(u.profile, tuple):
        version = int(u.profile[0])
    else:
        version = int(u.profile.version)
    return premerge.fields(u.tiles, premerge.events_folded(u.tiles, version), as_of_ms)


def seed(
    client: redis.Redis | RedisCluster,
    users: Iterable[UserState],
    ttl_s: int | None = None,
    profile_ttl_s: int | None = None,
    batch_users: int = 500,
    premerged_as_of_ms: int | None = None,
    premerged: bool = True,
) -> int:
    """Write ``users`` to Redis, ``batch_users`` users per pipeline round trip.

    Args:
        client: connected as a user allowed ``HSET``, ``SET`` and ``EXPIRE`` on ``up:v1:*``.
        users: the states to write.
        ttl_s: TTL of each tile hash in s; default :func:`userpulse.layout.ttl_s` (as the
        job).
        profile_ttl_s: TTL of each profile key in s; default ``layout.PROFILE_TTL_S``.
        batch_users: users per pipeline.
        premerged_as_of_ms: T of the pre-merged fields written with each user that has tiles,
            UTC epoch ms; None: the wall clock at the start of the call.
        premerged: write the pre-merged fields (as a job with ``premerge_refresh_ms`` > 0
            does); False: tiles only (the job's default).

    Returns:
        The number of users written.

    Raises:
        ValueError: a TTL or ``batch_users`` below 1.
        redis.RedisError: Redis refused a command or could not be reached.
    """
    tile_ttl = layout.ttl_s() if ttl_s is None else ttl_s
    prof_ttl = layout.PROFILE_TTL_S if profile_ttl_s is None else profile_ttl_s
    if tile_ttl < 1 or prof_ttl < 1 or batch_users < 1:
        raise ValueError("ttl_s, profile_ttl_s and batch_users must be >= 1")
    as_of = int(time.time() * 1000) if premerged_as_of_ms is None else premerged_as_of_ms
    written = 0
    pipe = client.pipeline(transaction=False)
    pending = 0
    for u in users:
        fields: dict[str, str] = {
            layout.tile_field(g, k): layout.encode_tile(v) for (g, k), v in u.tiles.items()
        }
        fields.update({layout.pruned_field(g): str(k) for g, k in u.pruned.items()})
        if u.tiles and premerged:
            fields.update(premerged_fields(u, as_of)[0])
        if u.last_seen_ms is not None:
            fields[layout.META_LAST_SEEN] = str(int(u.last_seen_ms))
        key = layout.user_key(u.user_id)
        if fields:
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            pipe.expire(key, tile_ttl)
        if u.profile is not None:
            pipe.set(layout.profile_key(u.user_id), _profile_value(u.profile), ex=prof_ttl)
        written += 1
        pending += 1
        if pending >= batch_users:
            pipe.execute()
            pipe = client.pipeline(transaction=False)
            pending = 0
    if pending:
        pipe.execute()
    return written
