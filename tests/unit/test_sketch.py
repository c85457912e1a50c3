"""KMV distinct-count sketch: exact below k, documented error above, mergeable, idempotent."""

from __future__ import annotations

import random
import statistics

import pytest

from userpulse import sketch
from userpulse.features import DISTINCT_SKETCH_K


def _sketch_of(values: list[str]) -> list[int]:
    s: list[int] = []
    for v in values:
        sketch.add(s, sketch.value_hash(v))
    return s


def test_exact_below_k_and_duplicates_do_not_count() -> None:
    vals = [f"item-{i}" for i in range(DISTINCT_SKETCH_K - 1)]
    s = _sketch_of(vals + vals[:50])
    assert sketch.estimate(s) == DISTINCT_SKETCH_K - 1
    assert s == sorted(s) and len(s) == DISTINCT_SKETCH_K - 1


def test_hash_is_stable_across_processes() -> None:
    # BLAKE2b-32 of the UTF-8 bytes: pinned so a sketch written by one worker merges with another's
    assert sketch.value_hash("i9") == int.from_bytes(
        __import__("hashlib").blake2b(b"i9", digest_size=4).digest(), "big"
    )
    assert sketch.value_hash("item-1") != sketch.value_hash("item-2")


def test_merge_equals_sketch_of_union() -> None:
    rng = random.Random(7)
    parts = [[f"v{rng.randrange(3_000)}" for _ in range(400)] for _ in range(6)]
    merged = sketch.merge(_sketch_of(p) for p in parts)
    assert merged == _sketch_of([v for p in parts for v in p])
    assert len(merged) == DISTINCT_SKETCH_K


@pytest.mark.parametrize("n", [1_000, 20_000])
def test_error_above_k_matches_the_documented_standard_error(n: int) -> None:
    """Relative standard error about 1/sqrt(k-2) = 6.3 % for k = 256 (Beyer et al. 2007)."""
    errors = []
    for seed in range(40):
        vals = [f"{seed}-{i}" for i in range(n)]
        errors.append(sketch.estimate(_sketch_of(vals)) / n - 1)
    rse = (DISTINCT_SKETCH_K - 2) ** -0.5
    assert abs(statistics.mean(errors)) < 2.5 * rse / len(errors) ** 0.5 + 0.01
    assert 0.5 * rse < statistics.pstdev(errors) < 1.6 * rse
    assert max(abs(e) for e in errors) < 4 * rse


def test_encode_round_trip_and_bad_input() -> None:
    s = _sketch_of(["a", "b", "c"])
    assert sketch.decode(sketch.encode(s)) == s
    assert sketch.decode("") == []
    with pytest.raises(ValueError):
        sketch.decode("AAA=")  # 2 bytes
