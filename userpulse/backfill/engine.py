"""Feature columns for labels ``(user_id, as_of_ms)``: window and profile features by catalogue.

Every feature comes from :mod:`userpulse.features` by its kind, never by its name: window
features from :data:`~userpulse.features.WINDOW_FEATURES` (tile aggregates and derived ratios),
profile features from :data:`~userpulse.features.STATE_FEATURES`. Each gets a value column and a
status column (:class:`userpulse.lookup.merge.Status`): ``present`` for a user with any counted
event in the
history, ``not_found`` (value null) for a user with none, as the lookup answers once every event
was counted; offline nothing is out of retention.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from userpulse.backfill.columns import EventColumns, arrow_type
from userpulse.backfill.state import LAST_K_TYPE, ProfileAsOf
from userpulse.backfill.windows import Column, build_tiles, window_aggregates
from userpulse.features import (
    FEATURES_BY_NAME,
    STATE_FEATURES_BY_NAME,
    TILE_AGGREGATES,
    Derived,
    TileAggregate,
    Window,
    WindowFeature,
)
from userpulse.lookup.merge import Status

STATUS_SUFFIX = "_status"
"""Column of a feature's status: ``<feature>_status``."""
_STATUSES = pa.array([Status.PRESENT.value, Status.NOT_FOUND.value])
Advance = Callable[[int], Any]
"""Progress callback: called with the number of feature columns just finished."""


def _needed(features: list[WindowFeature]) -> list[str]:
    names: list[str] = []
    for f in features:
        a = f.aggregate
        names += [a.numerator, a.denominator] if isinstance(a, Derived) else [a.name]
    return list(dict.fromkeys(names))


def _by_window(names: list[str]) -> dict[Window, list[WindowFeature]]:
    out: dict[Window, list[WindowFeature]] = {}
    for n in names:
        f = FEATURES_BY_NAME.get(n)
        if f is not None:
            out.setdefault(f.window, []).append(f)
    return out


def _unique_pairs(user: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(user, k)`` pairs and, per input row, the index of its pair."""
    order = np.lexsort((k, user))
    u, kk = user[order], k[order]
    new = np.ones(len(u), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (kk[1:] != kk[:-1])
    group = np.cumsum(new) - 1
    inverse = np.empty(len(u), dtype=np.int64)
    inverse[order] = group
    return u[new], kk[new], inverse


def _window_value(f: WindowFeature, aggs: dict[str, Column]) -> Column:
    a = f.aggregate
    if isinstance(a, TileAggregate):
        return aggs[a.name]
    (num, num_ok), (den, _) = aggs[a.numerator], aggs[a.denominator]
    ok = num_ok & (den != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = num.astype(np.float64) / np.where(ok, den, 1).astype(np.float64)
    return value, ok


def _expand(col: Column, inverse: np.ndarray, known: np.ndarray, n: int) -> pa.Array:
    """Per-query values -> per-label Arrow array (null where invalid or the user is unknown)."""
    values, valid = col
    out = np.zeros(n, dtype=values.dtype if len(values) else np.int64)
    ok = np.zeros(n, dtype=bool)
    out[known] = values[inverse]
    ok[known] = valid[inverse]
    return pa.array(out, mask=~ok)


def value_type(name: str) -> pa.DataType:
    """Arrow type of feature ``name``'s value column, from its kind in the catalogue: counts,
    distinct counts, times and durations int64; sums and maxima the type of their event field;
    means and ratios float64; last-k lists :data:`~userpulse.backfill.state.LAST_K_TYPE`."""
    wf = FEATURES_BY_NAME.get(name)
    if wf is not None:
        a = wf.aggregate
        if isinstance(a, Derived):
            return pa.float64()
        return arrow_type(a.field) if a.kind in ("sum", "max") and a.field else pa.int64()
    return LAST_K_TYPE if STATE_FEATURES_BY_NAME[name].kind == "last_k" else pa.int64()


def output_schema(names: list[str]) -> pa.Schema:
    """Schema of the columns :func:`feature_columns` appends for ``names``."""
    status = pa.dictionary(pa.int8(), pa.string())
    return pa.schema([f for n in names for f in ((n, value_type(n)), (n + STATUS_SUFFIX, status))])


def _empty_column(name: str, n: int) -> pa.Array:
    return pa.nulls(n, type=value_type(name))


def feature_columns(
    ev: EventColumns,
    label_user: pa.Array,
    as_of_ms: np.ndarray,
    names: list[str],
    advance: Advance | None = None,
) -> dict[str, pa.Array]:
    """``<feature>`` and ``<feature>_status`` columns for each of ``names``.

    Args:
        ev: the sorted counted events.
        label_user: user id per label (Arrow strings, no nulls).
        as_of_ms: t per label, UTC epoch ms (int64, no nulls).
        names: known feature names (validated by the caller).
        advance: progress callback (feature columns done).
    """
    n = len(as_of_ms)
    code = pc.index_in(label_user, value_set=ev.user_ids).fill_null(-1)
    q_user = np.asarray(code.to_numpy(zero_copy_only=False), dtype=np.int64)
    known = q_user >= 0
    status = pa.DictionaryArray.from_arrays(
        pa.array(np.where(known, 0, 1).astype(np.int8)), _STATUSES
    )
    values: dict[str, pa.Array] = {}
    if len(ev) == 0 or not known.any():
        values = {nm: _empty_column(nm, n) for nm in names}
    else:
        ku, kt = q_user[known], as_of_ms[known]
        windows = _by_window(names)
        for tile_ms in sorted({w.tile_ms for w in windows}):  # one tile size in memory at a time
            same = {w: fs for w, fs in windows.items() if w.tile_ms == tile_ms}
            needed = _needed([f for fs in same.values() for f in fs])
            tiles = build_tiles(ev, tile_ms, [a for a in TILE_AGGREGATES if a.name in needed])
            qu, qk, inverse = _unique_pairs(ku, kt // tile_ms)
            for window, feats in same.items():
                merged = window_aggregates(tiles, window, qu, qk, _needed(feats))
                for f in feats:
                    values[f.name] = _expand(_window_value(f, merged), inverse, known, n)
                    if advance:
                        advance(1)
            del tiles
        state = [STATE_FEATURES_BY_NAME[nm] for nm in names if nm in STATE_FEATURES_BY_NAME]
        if state:
            prof = ProfileAsOf(ev, ku, kt)
            idx = np.cumsum(known) - 1
            for sf in state:
                col = prof.column(sf)
                values[sf.name] = col if known.all() else _with_unknown(col, known, idx)
                if advance:
                    advance(1)
    out: dict[str, pa.Array] = {}
    for nm in names:
        out[nm] = values[nm]
        out[nm + STATUS_SUFFIX] = status
    return out


def _with_unknown(col: pa.Array, known: np.ndarray, idx: np.ndarray) -> pa.Array:
    """Per-known-label values spread to all labels, null for unknown users."""
    taken = col.take(pa.array(np.where(known, idx, 0)))
    return pc.if_else(pa.array(known), taken, pa.nulls(len(known), type=col.type))
