"""``distinct`` aggregates: per-tile KMV sketches and their union over a window, vectorised.

A tile's sketch is the :data:`~userpulse.features.DISTINCT_SKETCH_K` (k) smallest distinct 32-bit
:func:`userpulse.sketch.value_hash` values of its events, as :func:`userpulse.sketch.add` keeps
them. A window's value is :func:`userpulse.sketch.estimate` of the union of its tiles' sketches
(:func:`userpulse.sketch.merge`): the number of distinct hashes below k, else
``round((k - 1) * 2^32 / (U_k + 1))`` with ``U_k`` the k-th smallest hash of the union.

Sketches are stored one after the other as sorted keys ``tile << 32 | hash``; a window gathers
its tiles' hashes (at most W/g * k) and sorts them once per chunk of queries. (Unioning only the
hashes below 2^24 or 2^28 first, and stopping when k of them are there, was measured slower on
the Zipf benchmark: popular items repeat across tiles, so few windows stop early.)
"""

from __future__ import annotations

import numpy as np

from userpulse.backfill.keys import chunks, gather
from userpulse.features import DISTINCT_SKETCH_K
from userpulse.sketch import HASH_SPACE

_MASK = 0xFFFFFFFF


def tile_sketches(
    h: np.ndarray, sel: np.ndarray, tile_of: np.ndarray, n_tiles: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per tile, the k smallest distinct hashes of the selected events.

    Args:
        h: hash per event (int64, -1 for a null value).
        sel: events that feed the aggregate.
        tile_of: tile number per event (non-decreasing).
        n_tiles: number of tiles.

    Returns:
        ``(ptr, keys)``: tile i's sketch is ``keys[ptr[i]:ptr[i + 1]] & 0xFFFFFFFF`` (sorted).
    """
    m = sel & (h >= 0)
    keys = np.unique((tile_of[m] << 32) | h[m])
    tid = keys >> 32
    first = np.searchsorted(tid, tid, side="left")
    keep = (np.arange(len(keys)) - first) < DISTINCT_SKETCH_K
    keys = keys[keep]
    return np.searchsorted(keys >> 32, np.arange(n_tiles + 1), side="left"), keys


def _union(qid: np.ndarray, hashes: np.ndarray, n: int) -> np.ndarray:
    """Per query: the estimate of the union of its hashes (exact count below k)."""
    union = np.unique((qid << 32) | hashes)
    uq = union >> 32
    counts = np.bincount(uq, minlength=n).astype(np.int64)
    first = np.searchsorted(uq, np.arange(n), side="left")
    full = counts >= DISTINCT_SKETCH_K
    kth = (union[first[full] + DISTINCT_SKETCH_K - 1] & _MASK).astype(np.float64)
    value = counts.copy()
    # sketch.estimate: round((k - 1) * HASH_SPACE / (U_k + 1)), half to even like round()
    value[full] = np.rint((DISTINCT_SKETCH_K - 1) * HASH_SPACE / (kth + 1)).astype(np.int64)
    return value


def window_distinct(
    ptr: np.ndarray, keys: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: int
) -> np.ndarray:
    """The sketch estimate of the union of tiles ``[lo[i], hi[i])`` for each query i.

    Args:
        ptr, keys: the tiles' sketches (:func:`tile_sketches`).
        lo, hi: tile ranges per query (int64).
        budget: hashes gathered at once (bounds peak memory).
    """
    parts = []
    elo, ehi = ptr[lo], ptr[hi]
    for a, b in chunks(np.maximum(ehi - elo, 0), budget):
        idx, offsets = gather(elo[a:b], ehi[a:b])
        qid = np.repeat(np.arange(b - a, dtype=np.int64), np.diff(offsets))
        parts.append(_union(qid, keys[idx] & _MASK, b - a))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
