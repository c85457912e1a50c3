"""The fast path of a lookup: answer windows from the pre-merged "as of T" values the writer keeps
(fields ``m`` and ``w:<window_ms>`` of the tile hash, :mod:`userpulse.premerge`), not from tiles.

Per user one ``HMGET`` of the fields the request needs (``g``, ``ls``, ``m``, the ``p:<tile_ms>``
marks of its windows, one ``w:<window_ms>`` per window) and the ``GET`` of the profile replace the
``HGETALL`` of every tile. A user is answered from them when every window it needs holds at t
(``T <= t < valid_until``; exact by construction, see :mod:`userpulse.premerge`) and the
features that are not windows need no tile (the profile knows every event up to t). Every other
user (no pre-merged fields, t before T or past a window's ``valid_until``, an error reply, a
value that does not parse, a state feature that needs tiles) is left to the full read and merge
(:mod:`userpulse.lookup.merge`) in a second round trip, which decides its statuses; so statuses
and values are those of the full merge.

:class:`FastPath` keeps the hit counts and switches the fast path off for a while when a lookup
found no pre-merged field at all (a writer that does not keep them): then each lookup costs one
round trip as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from userpulse import layout
from userpulse.features import AS_OF_RESOLUTION_MS, TILE_SIZES_MS
from userpulse.lookup.merge import (
    REWRITING,
    FeaturePlan,
    FeatureResult,
    StoredValueError,
    answer_user,
    feature_plan,
    is_rewriting,
)
from userpulse.lookup.state import StoredUser
from userpulse.lookup.tilecols import tile_columns
from userpulse.tiles import window_tiles

__all__ = ["FastAnswer", "FastPath", "fast_fields", "fast_results", "queue_fast_reads"]

_META = (layout.META_GENERATION, layout.META_LAST_SEEN, layout.META_PREMERGED)
_M = layout.META_PREMERGED.encode()
_M_AT = _META.index(layout.META_PREMERGED)
FastAnswer = tuple[dict[str, dict[str, FeatureResult]], list[str], int]
"""What :func:`fast_results` returns: results of the users answered, the users left to the full
path (request order), and how many of the users had pre-merged fields at all."""


@lru_cache(maxsize=256)
def fast_fields(names: tuple[str, ...]) -> tuple[bytes, ...]:
    """Fields of the tile hash the fast path reads for ``names`` (validated feature names):
    ``g``, ``ls``, ``m``, every ``p:<tile_ms>`` (state features may check the 1 s mark), one
    ``w:<window_ms>`` per window needed, in that order."""
    windows = feature_plan(names).windows
    out = [*_META, *(layout.pruned_field(g) for g in TILE_SIZES_MS)]
    out += [layout.premerged_field(w) for w, _ in windows]
    return tuple(f.encode() for f in out)


def queue_fast_reads(pipe: Any, user_id: str, fields: Sequence[bytes]) -> None:
    """Queue one user's fast reads on a redis-py pipeline (sync or asyncio): ``HMGET`` of
    ``fields`` (:func:`fast_fields`) on the tile hash, ``GET`` of the profile (same slot)."""
    pipe.hmget(layout.user_key(user_id), list(fields))
    pipe.get(layout.profile_key(user_id))


def _state_needs_tiles(plan: FeaturePlan, t: int, u: StoredUser) -> bool:
    """Whether a state feature of ``plan`` could read tiles as of t (the full path's
    :func:`userpulse.lookup.state.state_feature` does when the profile is missing or does not
    know every event up to the end of t's second)."""
    if not plan.state_features:
        return False
    p = u.prof
    if p is None:
        return True
    end = (t // AS_OF_RESOLUTION_MS + 1) * AS_OF_RESOLUTION_MS
    fs, ls = p.get(layout.PROFILE_FIRST_SEEN), p.get(layout.PROFILE_LAST_SEEN)
    if fs is None or fs >= end:
        return False
    return ls is None or ls >= end


def _windows_of(
    plan: FeaturePlan, t: int, got: dict[bytes, bytes], u: StoredUser
) -> dict[tuple[int, int], bytes | None] | None:
    """Per window of ``plan``: its pre-merged tile value, None when out of retention; or None
    when a window's value is missing or does not hold at t (the user takes the full path)."""
    as_of = layout.decode_premerged_meta(got[_M])[1]
    if t < as_of:
        return None
    out: dict[tuple[int, int], bytes | None] = {}
    for w, g in plan.windows:
        raw = got.get(layout.premerged_field(w).encode())
        if raw is None:
            return None
        until, tile = layout.split_window(raw)
        if until is not None and t >= until:
            return None
        first = window_tiles(t, w, g)[0]
        out[(w, g)] = None if first <= u.pruned.get(g, first - 1) else tile
    return out


def _user(
    plan: FeaturePlan,
    t: int,
    fields: Sequence[bytes],
    replies: tuple[Any, Any],
    gen: int | None,
    stale: bool,
) -> tuple[str, Any]:
    """One user's fast-path verdict: ``("full", None)``, ``("rewriting", None)`` or
    ``("fast", (StoredUser, windows))``."""
    h_reply, p_reply = replies
    if isinstance(h_reply, Exception) or isinstance(p_reply, Exception):
        return "full", None
    got = {f: v for f, v in zip(fields, h_reply, strict=True) if v is not None}
    if _M not in got:
        return "full", None
    if stale or is_rewriting(got, gen):  # as the full path (its hash exists: it has ``m``)
        return "rewriting", None
    try:
        u = StoredUser(got, p_reply)
        windows = _windows_of(plan, t, got, u)
        if windows is None or _state_needs_tiles(plan, t, u):
            return "full", None
    except (ValueError, StoredValueError):  # not v1: the full path names the key and the error
        return "full", None
    return "fast", (u, windows)


def fast_results(
    users: Sequence[str],
    names: Sequence[str],
    t: int,
    replies: Sequence[Any],
    store_generation: int | None,
    stale: bool,
) -> FastAnswer:
    """Answer what the pre-merged values can from the replies of :func:`queue_fast_reads` (two
    per user, users in order; the generation marker's and the run guard's replies taken off).

    Args:
        users: user ids (distinct, request order).
        names: feature names (validated).
        t: lookup time, UTC epoch ms.
        replies: ``[HMGET, GET] * len(users)``.
        store_generation: the marker's value (None: none).
        stale: the server restarted and the job has not noticed (every user with pre-merged
            fields is ``REWRITING``, as in the full path).

    Returns:
        See :data:`FastAnswer`.
    """
    plan = feature_plan(tuple(names))
    fields = fast_fields(tuple(names))
    done: dict[str, dict[str, FeatureResult]] = {}
    rest: list[str] = []
    fast: list[tuple[str, StoredUser, dict[tuple[int, int], bytes | None]]] = []
    with_fields = 0
    for i, uid in enumerate(users):
        h_reply, p_reply = replies[2 * i], replies[2 * i + 1]
        if isinstance(h_reply, list) and h_reply[_M_AT] is not None:
            with_fields += 1
        verdict, got = _user(plan, t, fields, (h_reply, p_reply), store_generation, stale)
        if verdict == "rewriting":
            done[uid] = dict.fromkeys(names, REWRITING)
        elif verdict == "fast":
            fast.append((uid, *got))
        else:
            rest.append(uid)
    merged: list[dict[tuple[int, int], dict[int, Any] | None]] = [{} for _ in fast]
    for wk, cols in plan.windows.items():
        todo: list[tuple[int, bytes]] = []
        for j, (_, _, ws) in enumerate(fast):
            v = ws[wk]
            if v is None:
                merged[j][wk] = None
            else:
                todo.append((j, v))
        for j, m in zip((j for j, _ in todo), _merge(todo, cols), strict=True):
            merged[j][wk] = m
    for j, (uid, u, _) in enumerate(fast):
        m_j = merged[j]
        if any(m is not None and not m for m in m_j.values()):  # a value that did not parse
            rest.append(uid)
            continue
        try:
            done[uid] = answer_user(plan, names, t, u, m_j)
        except StoredValueError:
            rest.append(uid)
    order = {u: i for i, u in enumerate(users)}
    rest.sort(key=order.__getitem__)
    return done, rest, with_fields


def _merge(todo: list[tuple[int, bytes]], cols: frozenset[int]) -> list[dict[int, Any]]:
    """The columns ``cols`` of each pre-merged tile value (:func:`tile_columns`); ``{}`` for a
    value that is not a v1 tile."""
    out: list[dict[int, Any]] = []
    for _, v in todo:
        try:
            out.append(tile_columns(v, cols))
        except (ValueError, TypeError):
            out.append({})
    return out


class FastPath:
    """Whether a client tries the fast path first, and its counts (users answered by it, users
    left to the full path).

    Args:
        enabled: False: never (every lookup takes the full path).
        retry_s: after a lookup in which no user had pre-merged fields although some were left
            to the full path, skip the fast path for this many s (monotonic clock).
        clock_s: injectable monotonic clock in s.
    """

    def __init__(
        self,
        enabled: bool = True,
        retry_s: float = 5.0,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        self._retry_s = retry_s
        self._clock_s = clock_s
        self._off_until = 0.0

    def use(self) -> bool:
        """Whether the next lookup tries the fast path."""
        return self.enabled and self._clock_s() >= self._off_until

    def record(self, answered: int, left: int, with_fields: int) -> None:
        """Count a lookup's users: ``answered`` by the fast path, ``left`` to the full path,
        ``with_fields`` of them had pre-merged fields."""
        self.hits += answered
        self.misses += left
        if left and not with_fields:
            self._off_until = self._clock_s() + self._retry_s

    def stats(self) -> dict[str, int]:
        """``{"hits": users answered from pre-merged values, "misses": users left to the full
        path}`` since the client started."""
        return {"hits": self.hits, "misses": self.misses}
