"""The fast read path of one window: pick its tiles out of a user's hash, merge them by column.

A window as of t needs the tiles ``[first, last]`` of one size (``userpulse.tiles.window_tiles``).
Their field names (``userpulse.layout.tile_field``) depend only on ``(tile_ms, first, last)``,
so they
are built once and cached (:func:`window_fields`); for a lookup "as of now" the range only moves
once per tile. The user's tiles of that window are then the intersection of the hash's keys with
that set (one C-level set operation, whatever else the hash holds).

Instead of decoding each tile value into a list (``userpulse.layout.decode_tile``) and folding
the
lists, :func:`merge_columns` joins the window's values and splits them once: column ``i`` of the
tiles is then the slice ``parts[i::width]``, and each aggregate the request needs is one C-level
reduction over it (``sum(map(int, ...))``, ``max``, a set union of the decoded KMV sketches via
``binascii`` and ``array``). Columns nobody asked for are never converted. The results equal
``userpulse.tiles.merge_tiles`` of the decoded tiles (pinned by
``tests/unit/test_merge_reference.py`` and ``tests/unit/test_lookup_tilecols.py``); the bytes
stored are layout v1, unchanged.
"""

from __future__ import annotations

import binascii
import heapq
import sys
from array import array
from collections.abc import Collection, Mapping
from functools import lru_cache
from itertools import accumulate, chain, repeat
from operator import methodcaller
from typing import Any

from userpulse import layout, sketch
from userpulse.features import DISTINCT_SKETCH_K, TILE_AGGREGATES
from userpulse.tiles import IDX_MAX_TIME, N_AGGS

WIDTH = N_AGGS + 2
"""Parts of a v1 tile value: ``n``, one per aggregate, ``max_event_time_ms``."""
KINDS: tuple[str, ...] = ("n", *(a.kind for a in TILE_AGGREGATES), "max")
"""Merge kind of each column: count / sum add, max takes the max, distinct unions sketches."""
_SEP = b";"
_UNSIGNED = methodcaller("lstrip", b"-")
_SWAP = sys.byteorder == "little"  # sketches are big-endian uint32
if array("I").itemsize != 4:  # pragma: no cover - every CPython platform in use has 4
    raise ImportError("array('I') is not 32-bit on this platform")


@lru_cache(maxsize=512)
def window_fields(tile_ms: int, first: int, last: int) -> frozenset[bytes]:
    """Field names (bytes) of the tiles of size ``tile_ms`` with index in ``[first, last]``."""
    return frozenset(layout.tile_field(tile_ms, k).encode() for k in range(first, last + 1))


def window_values(h: Mapping[bytes, bytes], tile_ms: int, first: int, last: int) -> list[bytes]:
    """Stored values of the tiles of size ``tile_ms`` with index in ``[first, last]`` (any order).

    Args:
        h: the user's tile hash (``HGETALL`` reply, bytes keys and values).
        tile_ms: tile size in ms.
        first, last: tile indices, both inclusive.
    """
    names = window_fields(tile_ms, first, last)
    return [h[f] for f in h.keys() & names]


def _num(s: bytes) -> int | float:
    """A part as ``userpulse.layout`` decodes it: int when it is one, else float (no exception
    on the float path: scroll depths are floats)."""
    if s.isdigit() or (s[:1] == b"-" and s[1:].isdigit()):
        return int(s)
    return float(s)


def _add(col: list[bytes]) -> int | float:
    try:
        return sum(map(int, filter(None, col)))
    except ValueError:  # a float part (not written by v1 today, but valid): same as merge_tiles
        total: int | float = 0
        for x in filter(None, col):
            total = total + _num(x)
        return total


def _max(col: list[bytes]) -> int | float | None:
    try:
        return max(map(int, filter(None, col)), default=None)
    except ValueError:  # floats (scroll depth): the first largest value, as merge_tiles keeps
        pass
    vals = list(filter(None, col))
    if any(map(bytes.isdigit, map(_UNSIGNED, vals))):  # ints and floats mixed
        return max(map(_num, vals))
    return max(map(float, vals))


def distinct_estimate(col: list[bytes], k: int = DISTINCT_SKETCH_K) -> int:
    """Distinct values in the union of the base64 KMV sketches ``col`` (empty parts skipped):
    ``sketch.estimate(sketch.merge(decoded))``, without building the intermediate lists.

    Raises:
        ValueError: a part that is not base64 of a multiple of 4 bytes.
    """
    raws = list(map(binascii.a2b_base64, filter(None, col)))
    if not raws:
        return 0
    if any(n & 3 for n in set(map(len, raws))):
        raise ValueError("sketch is not a multiple of 4 bytes")
    hashes = array("I", b"".join(raws))
    if _SWAP:
        hashes.byteswap()
    union = set(hashes)
    if len(union) < k:
        return len(union)
    return sketch.estimate(heapq.nsmallest(k, union), k)


def _check_parts(vals: list[bytes]) -> None:
    if set(map(bytes.count, vals, repeat(_SEP, len(vals)))) != {WIDTH - 1}:
        bad = next(v for v in vals if v.count(_SEP) != WIDTH - 1)
        n = bad.count(_SEP) + 1
        raise ValueError(f"tile value {bad[:40]!r} has {n} parts, expected {WIDTH}")


_EMPTY: dict[str, Any] = {"n": 0, "count": 0, "sum": 0, "max": None, "distinct": 0}


def empty_columns(cols: Collection[int]) -> dict[int, Any]:
    """Merged columns of a window without tiles (counts and sums 0, maxima None, distinct 0)."""
    return {i: (None if i == IDX_MAX_TIME else _EMPTY[KINDS[i]]) for i in cols}


def merge_columns(vals: list[bytes], cols: Collection[int]) -> dict[int, Any]:
    """Merge the tile values ``vals`` (v1 encoding) for the columns ``cols`` only.

    Args:
        vals: stored tile values of one window (any order).
        cols: column indices, ``1..N_AGGS`` (aggregates) and ``IDX_MAX_TIME``.

    Returns:
        column index -> merged value: counts and sums added (0 when none), maxima and
        ``max_event_time_ms`` the largest (None when none), distinct the estimate (int).

    Raises:
        ValueError: a value that is not a v1 tile (wrong number of parts, not numbers, bad
            sketch).
    """
    if not vals:
        return empty_columns(cols)
    _check_parts(vals)
    parts = _SEP.join(vals).split(_SEP)
    out: dict[int, Any] = {}
    for i in cols:
        col = parts[i::WIDTH]
        kind = KINDS[i]
        if i == IDX_MAX_TIME or kind == "max":
            out[i] = _max(col)
        elif kind == "distinct":
            out[i] = distinct_estimate(col)
        else:
            out[i] = _add(col)
    return out


@lru_cache(maxsize=256)
def _column_kinds(cols: frozenset[int]) -> tuple[tuple[int, str], ...]:
    """``(column, "add" | "max" | "distinct")`` of each column of ``cols``."""
    return tuple(
        (i, "max" if i == IDX_MAX_TIME else "add" if KINDS[i] in ("count", "sum") else KINDS[i])
        for i in sorted(cols)
    )


def tile_columns(value: bytes, cols: frozenset[int]) -> dict[int, Any]:
    """:func:`merge_columns` of one tile value (``[value]``), without the column passes: the
    value split once, each asked part converted (a pre-merged window is one tile).

    Raises:
        ValueError: not a v1 tile value.
    """
    parts = value.split(_SEP)
    if len(parts) != WIDTH:
        raise ValueError(f"tile value {value[:40]!r} has {len(parts)} parts, expected {WIDTH}")
    out: dict[int, Any] = {}
    for i, kind in _column_kinds(cols):
        p = parts[i]
        if kind == "distinct":
            out[i] = distinct_estimate([p])
        elif not p:
            out[i] = 0 if kind == "add" else None
        else:
            out[i] = _num(p)
    return out


_NONE = -(10**30)  # an empty part of a max column while reducing (v1 values are >= 0)


def _distinct_segments(col: list[bytes], spans: list[tuple[int, int]]) -> list[int]:
    """:func:`distinct_estimate` of each span of a sketch column: the base64 parts decoded in
    one C-level pass; a span's distinct count is the size of the set of its 4-byte hashes (byte
    order only matters, and is fixed, when the k-th smallest is needed)."""
    raws = list(map(binascii.a2b_base64, col))
    if any(n & 3 for n in set(map(len, raws))):
        raise ValueError("sketch is not a multiple of 4 bytes")
    out = []
    k = DISTINCT_SKETCH_K
    for a, b in spans:
        union = set(array("I", b"".join(raws[a:b])))
        if len(union) < k:
            out.append(len(union))
        else:
            hashes = array("I", union)
            if _SWAP:
                hashes.byteswap()
            out.append(sketch.estimate(heapq.nsmallest(k, hashes), k))
    return out


def _max_column(col: list[bytes]) -> list[int] | list[float] | None:
    """A max column as numbers in one C-level pass (empty parts as a sentinel below any v1
    value): ints when every part is one, floats when no part is an int; None when mixed."""
    if b"" not in col:
        try:
            return list(map(int, col))
        except ValueError:
            pass
    filled = [x or b"-1000000000000000000000000000000" for x in col]
    try:
        return list(map(int, filled))
    except ValueError:
        pass
    if any(map(bytes.isdigit, col)):
        return None
    try:
        return [float(x) if x else _NONE for x in col]  # type: ignore[misc]
    except ValueError:
        return None


def _prefix_sums(col: list[bytes]) -> tuple[list[int], int] | None:
    """Prefix sums of an all-int column (empty parts count 0) and the offset to subtract per
    part, or None when a part is a float. Single-digit columns (most counts per tile) are summed
    as their bytes (``b"3"`` is 51: offset 48), without converting a part."""
    joined = b"".join(col)
    if len(joined) == len(col) and joined.isdigit():
        return list(accumulate(joined, initial=0)), 48
    try:
        return list(accumulate(map(int, col), initial=0)), 0  # v1 writes 0, never empty
    except ValueError:
        pass
    try:
        return list(accumulate((int(x) if x else 0 for x in col), initial=0)), 0
    except ValueError:
        return None


def merge_segments(segments: list[list[bytes]], cols: Collection[int]) -> list[dict[int, Any]]:
    """:func:`merge_columns` of many windows at once (one per user of a batch, same columns).

    The values of all segments are joined and split once; sums come from one C-level pass of
    prefix sums over the whole column, maxima and sketches from one slice per segment. Results
    equal :func:`merge_columns` of each segment.

    Args:
        segments: per window, its stored tile values (v1 encoding).
        cols: column indices, ``1..N_AGGS`` and ``IDX_MAX_TIME``.

    Returns:
        One dict per segment, as :func:`merge_columns`.

    Raises:
        ValueError: a value that is not a v1 tile (call :func:`merge_columns` per segment to
            find whose).
    """
    flat = list(chain.from_iterable(segments))
    if not flat:
        return [empty_columns(cols) for _ in segments]
    _check_parts(flat)
    parts = _SEP.join(flat).split(_SEP)
    bounds = list(accumulate(map(len, segments), initial=0))
    spans = list(zip(bounds, bounds[1:], strict=False))
    outs: list[dict[int, Any]] = [{} for _ in segments]
    for i in cols:
        col = parts[i::WIDTH]
        kind = "max" if i == IDX_MAX_TIME else KINDS[i]
        if kind == "distinct":
            for out, est in zip(outs, _distinct_segments(col, spans), strict=True):
                out[i] = est
        elif kind == "max":
            nums = _max_column(col)
            for out, (a, b) in zip(outs, spans, strict=True):
                if nums is None:  # ints and floats mixed: exactly as merge_tiles, per window
                    out[i] = _max(col[a:b])
                else:
                    m = max(nums[a:b], default=_NONE)
                    out[i] = None if m == _NONE else m
        else:
            sums = _prefix_sums(col)
            if sums is None:
                for out, (a, b) in zip(outs, spans, strict=True):
                    out[i] = _add(col[a:b])
            else:
                pre, zero = sums
                for out, (a, b) in zip(outs, spans, strict=True):
                    out[i] = pre[b] - pre[a] - zero * (b - a)
    return outs
