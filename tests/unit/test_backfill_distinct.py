"""The vectorised window union of tile sketches equals ``sketch.merge`` + ``sketch.estimate``
(unions of 0 to ~180,000 distinct hashes over 1 to 600 tiles, small chunk budgets)."""

from __future__ import annotations

import numpy as np

from userpulse import sketch
from userpulse.backfill.distinct import tile_sketches, window_distinct


def test_window_union_equals_sketch_merge_and_estimate() -> None:
    rng = np.random.default_rng(7)
    sizes = [0, 3, 255, 256, 257, 4_000, 1, 700, 0, 12_000] + [300] * 600
    sets = [np.unique(rng.integers(0, 2**32, size=n)) for n in sizes]
    h = np.concatenate([rng.permutation(np.concatenate([s, s[: len(s) // 3]])) for s in sets])
    tile_of = np.concatenate(
        [np.full(len(s) + len(s) // 3, i, dtype=np.int64) for i, s in enumerate(sets)]
    )
    h = np.where(rng.random(len(h)) < 0.01, -1, h)  # null values are skipped
    ptr, keys = tile_sketches(h, np.ones(len(h), dtype=bool), tile_of, len(sets))
    full_sets = [set(h[tile_of == i][h[tile_of == i] >= 0].tolist()) for i in range(len(sets))]
    ranges = [(a, b) for a in range(10) for b in range(a, 11)]  # the small tiles
    ranges += [(10, 610), (0, 610), (5, 450), (10, 50), (200, 260), (300, 301), (609, 610)]
    lo = np.array([a for a, _ in ranges], dtype=np.int64)
    hi = np.array([b for _, b in ranges], dtype=np.int64)
    got = window_distinct(ptr, keys, lo, hi, budget=5_000)
    want = [
        sketch.estimate(sketch.merge([sorted(set().union(*full_sets[a:b]))])) for a, b in ranges
    ]
    assert got.tolist() == want
    assert sum(w >= 256 for w in want) > 10 and sum(0 < w < 256 for w in want) > 5
