"""Pure merge logic of lookups: one user's stored values -> feature values as of t (design 4, 7).

Shared by every client variant (sync, asyncio, HTTP service). A client queues each user's reads
with :func:`queue_reads` (:data:`READS_PER_USER` commands on one pipeline; both keys share the
user's hash slot) and passes that user's replies, in order, to :func:`features_from_replies`.
No I/O here. A window whose tiles have been pruned, or a historical value the stored state cannot
answer exactly, is ``out_of_retention`` with no value: a lookup never returns a wrong number.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from userpulse import layout
from userpulse.features import (
    FEATURE_NAMES,
    FEATURES_BY_NAME,
    STATE_FEATURES_BY_NAME,
    TILE_AGGREGATES,
    Derived,
    StateFeature,
)
from userpulse.lookup.results import (
    NOT_FOUND,
    OUT_OF_RETENTION,
    TILES,
    FeatureResult,
    Status,
    StoredValueError,
)
from userpulse.lookup.state import StoredUser, state_feature
from userpulse.lookup.tilecols import merge_columns, merge_segments
from userpulse.tiles import IDX_MAX_TIME, window_tiles

__all__ = [
    "READS_PER_USER",
    "REWRITING",
    "FeatureResult",
    "Status",
    "StoredValueError",
    "features_for",
    "features_from_replies",
    "answer_user",
    "feature_plan",
    "features_many",
    "is_rewriting",
    "queue_generation",
    "queue_reads",
    "store_error_results",
    "validate",
]
_AGG_INDEX = {a.name: i for i, a in enumerate(TILE_AGGREGATES, start=1)}
_OUT, _NOT_FOUND, _TILES = OUT_OF_RETENTION, NOT_FOUND, TILES
READS_PER_USER = 2
"""Commands :func:`queue_reads` queues per user (HGETALL of the tiles, GET of the profile)."""


def validate(features: Sequence[str] | None) -> list[str]:
    """The feature names to compute (all when None).

    Raises:
        ValueError: an unknown feature name (the message lists the known ones).
    """
    names = list(features) if features is not None else list(FEATURE_NAMES)
    unknown = [n for n in names if n not in FEATURES_BY_NAME and n not in STATE_FEATURES_BY_NAME]
    if unknown:
        raise ValueError(f"unknown features {unknown}; known: {', '.join(FEATURE_NAMES)}")
    return names


def queue_reads(pipe: Any, user_id: str) -> None:
    """Queue the reads of one user on a redis-py pipeline (sync or asyncio): HGETALL, GET."""
    pipe.hgetall(layout.user_key(user_id))
    pipe.get(layout.profile_key(user_id))


def queue_generation(pipe: Any) -> None:
    """Queue the read of the store generation marker (once per lookup, after the users' reads)."""
    pipe.get(layout.GENERATION_KEY)


_GEN_FIELD = layout.META_GENERATION.encode()
REWRITING = FeatureResult(None, Status.REWRITING, None)


def is_rewriting(h: Any, store_generation: int | None) -> bool:
    """Whether a user's tile hash (HGETALL reply) was written under an older store generation
    than ``store_generation`` (the marker's value, None when there is none): the store lost data
    and the job has not rewritten this user yet. A hash without the field (written before
    generations existed) is not."""
    if store_generation is None or not h:
        return False
    g = h.get(_GEN_FIELD)
    return g is not None and int(g) < store_generation


def store_error_results(
    names: Sequence[str], user_id: str | None, which: str, err: BaseException
) -> dict[str, FeatureResult]:
    """Every feature of ``names`` as ``STORE_ERROR``, naming the user's key (``which`` is
    ``"tiles"`` or ``"profile"``) and the error."""
    if user_id is None:
        key = "the user's tile hash" if which == "tiles" else "the user's profile key"
    else:
        key = layout.user_key(user_id) if which == "tiles" else layout.profile_key(user_id)
    r = FeatureResult(None, Status.STORE_ERROR, None, f"{key}: {type(err).__name__}: {err}")
    return dict.fromkeys(names, r)


def features_from_replies(
    names: Sequence[str], t: int, replies: Sequence[Any], user_id: str | None = None
) -> dict[str, FeatureResult]:
    """Values of ``names`` as of ``t`` (UTC epoch ms) from one user's replies to
    :func:`queue_reads` (in order). Returns ``{name: FeatureResult}``.

    A reply that is an exception (the pipeline ran with ``raise_on_error=False``: e.g.
    ``WRONGTYPE`` because the key holds another type) or a stored value that is not layout v1
    makes every feature of this user ``STORE_ERROR``, naming the key (``user_id`` gives the key
    its name); other users of the same batch are not affected. Connection-level errors are the
    caller's to raise (:func:`userpulse.lookup.request.raise_if_unavailable`).
    """
    for which, reply in zip(("tiles", "profile"), replies, strict=True):
        if isinstance(reply, Exception):
            return store_error_results(names, user_id, which, reply)
    try:
        return features_for(names, t, replies[0] or {}, replies[1])
    except StoredValueError as e:
        return store_error_results(names, user_id, e.which, e)


_new_result = tuple.__new__  # FeatureResult without the keyword-argument wrapper
_PRESENT = Status.PRESENT


class _WindowSpec(NamedTuple):
    """How to answer one window feature from its window's merged columns."""

    name: str
    window: tuple[int, int]  # (window_ms, tile_ms)
    column: int  # the merged tile column of the value (or of the numerator)
    divisor: int  # the column of the denominator, 0 when the feature is not a ratio


class FeaturePlan(NamedTuple):
    """What a list of feature names needs: windows (and their columns), and how to answer each."""

    windows: dict[tuple[int, int], frozenset[int]]  # (window_ms, tile_ms) -> columns
    window_specs: list[_WindowSpec]
    state_features: list[tuple[str, StateFeature]]


@lru_cache(maxsize=256)
def feature_plan(names: tuple[str, ...]) -> FeaturePlan:
    """What ``names`` (validated feature names) need and how to answer each (cached)."""
    cols: dict[tuple[int, int], set[int]] = {}
    specs: list[_WindowSpec] = []
    sf: list[tuple[str, StateFeature]] = []
    for n in names:
        f = FEATURES_BY_NAME.get(n)
        if f is None:
            sf.append((n, STATE_FEATURES_BY_NAME[n]))
            continue
        a, wk = f.aggregate, (f.window.window_ms, f.window.tile_ms)
        need = cols.setdefault(wk, {IDX_MAX_TIME})
        if isinstance(a, Derived):
            num, den = _AGG_INDEX[a.numerator], _AGG_INDEX[a.denominator]
        else:
            num, den = _AGG_INDEX[a.name], 0
        need.update((num, den) if den else (num,))
        specs.append(_WindowSpec(n, wk, num, den))
    return FeaturePlan({k: frozenset(v) for k, v in cols.items()}, specs, sf)


def features_for(
    names: Sequence[str], t: int, h: dict[bytes, bytes], profile: bytes | str | None = None
) -> dict[str, FeatureResult]:
    """Values of ``names`` as of ``t`` (UTC epoch ms) from the user's tile hash (HGETALL reply)
    and profile value (GET reply). Both empty means no data: every feature is NOT_FOUND.

    Only the windows (and within them the tile columns) that ``names`` need are merged.

    Raises:
        StoredValueError: a stored value is not layout v1 (the message says what).
    """
    got = features_many(names, t, [(h, profile)])[0]
    if isinstance(got, StoredValueError):
        raise got
    return got


def features_many(
    names: Sequence[str], t: int, stored: Sequence[tuple[dict[bytes, bytes], bytes | str | None]]
) -> list[dict[str, FeatureResult] | StoredValueError]:
    """:func:`features_for` of many users as of the same ``t``, merged window by window over the
    whole batch (:func:`userpulse.lookup.tilecols.merge_segments`): one pass per column for all
    users.

    Args:
        names: feature names (validated).
        t: lookup time, UTC epoch ms.
        stored: per user, its tile hash and profile value (``(HGETALL reply, GET reply)``).

    Returns:
        Per user, in order, its results, or the :class:`StoredValueError` of a user whose stored
        values are not layout v1 (the other users are answered).
    """
    plan = feature_plan(tuple(names))
    if len(stored) == 1:
        return [_one(plan, names, t, *stored[0])]
    users: list[StoredUser | None] = []
    bad: dict[int, StoredValueError] = {}
    for i, (h, profile) in enumerate(stored):
        if not h and profile is None:
            users.append(None)
            continue
        try:
            users.append(StoredUser(h, profile))
        except StoredValueError as e:
            users.append(None)
            bad[i] = e
    merged: list[dict[tuple[int, int], dict[int, Any] | None]] = [{} for _ in stored]
    for (w, g), cols in plan.windows.items():
        first, last = window_tiles(t, w, g)
        todo: list[int] = []
        segs: list[list[bytes]] = []
        for i, u in enumerate(users):
            if u is None:
                continue
            try:
                m, vals = u.window_plan(t, w, g, first, last, cols)
            except StoredValueError as e:
                bad[i], users[i] = e, None
                continue
            if vals is None:
                merged[i][(w, g)] = m
            else:
                todo.append(i)
                segs.append(vals)
        try:
            cols_of = merge_segments(segs, cols)
        except (ValueError, TypeError):  # someone's tiles are not v1: find whose, keep the rest
            cols_of = []
            for i, vals in zip(todo, segs, strict=True):
                try:
                    cols_of.append(merge_columns(vals, cols))
                except (ValueError, TypeError) as e:
                    bad[i], users[i] = StoredValueError(_TILES, str(e)), None
                    cols_of.append({})
        for i, m in zip(todo, cols_of, strict=True):
            merged[i][(w, g)] = m
    out: list[dict[str, FeatureResult] | StoredValueError] = []
    for i, u in enumerate(users):
        if i in bad:
            out.append(bad[i])
        elif u is None:
            out.append(dict.fromkeys(names, _NOT_FOUND))
        else:
            try:
                out.append(answer_user(plan, names, t, u, merged[i]))
            except StoredValueError as e:
                out.append(e)
    return out


def _one(
    plan: FeaturePlan,
    names: Sequence[str],
    t: int,
    h: dict[bytes, bytes],
    profile: bytes | str | None,
) -> dict[str, FeatureResult] | StoredValueError:
    """:func:`features_many` of one user, without the batch bookkeeping."""
    if not h and profile is None:
        return dict.fromkeys(names, _NOT_FOUND)
    try:
        u = StoredUser(h, profile)
        merged: dict[tuple[int, int], dict[int, Any] | None] = {}
        for (w, g), cols in plan.windows.items():
            first, last = window_tiles(t, w, g)
            m, vals = u.window_plan(t, w, g, first, last, cols)
            if vals is not None:
                try:
                    m = merge_columns(vals, cols)
                except (ValueError, TypeError) as e:
                    raise StoredValueError(_TILES, str(e)) from None
            merged[(w, g)] = m
        return answer_user(plan, names, t, u, merged)
    except StoredValueError as e:
        return e


def answer_user(
    plan: FeaturePlan,
    names: Sequence[str],
    t: int,
    u: StoredUser,
    merged: dict[tuple[int, int], dict[int, Any] | None],
) -> dict[str, FeatureResult]:
    """``{name: result}`` of one user as of ``t`` from its merged window columns (``(window_ms,
    tile_ms) -> column -> value``, None for a window out of retention) and its stored state.

    Raises:
        StoredValueError: the profile is not layout v1.
    """
    res: dict[str, FeatureResult] = {}
    new, result, present, out, newest_col = _new_result, FeatureResult, _PRESENT, _OUT, IDX_MAX_TIME
    for n, wk, num, den in plan.window_specs:  # the hot loop: locals only
        m = merged[wk]
        if m is None:
            res[n] = out
            continue
        if den:
            d = m[den]
            v = m[num] / d if d else None
        else:  # distinct columns are merged straight into their estimate
            v = m[num]
        res[n] = new(result, (v, present, m[newest_col], None))
    for n, sf in plan.state_features:
        res[n] = state_feature(sf, t, u)
    if plan.window_specs and plan.state_features:
        return {n: res[n] for n in names}  # the caller's order
    return res
