"""The column-wise window merge of the lookups equals the reference tile merge (issue 16).

``userpulse.lookup.tilecols`` reads the stored v1 bytes column by column, for one window or for a
whole
batch at once; whatever the tiles hold (ints, floats, empty parts, sketches), every column must
equal ``userpulse.tiles.merge_tiles`` of the decoded tiles, with the same types.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from userpulse import layout, sketch
from userpulse.lookup.tilecols import KINDS, merge_columns, merge_segments, tile_columns
from userpulse.tiles import IDX_MAX_TIME, N_AGGS, TileValue, merge_tiles

COLS = list(range(1, N_AGGS + 1)) + [IDX_MAX_TIME]


@st.composite
def tiles(draw: st.DrawFn) -> TileValue:
    out: TileValue = [draw(st.integers(1, 50))]
    for kind in KINDS[1:-1]:
        if kind in ("count", "sum"):
            out.append(draw(st.integers(0, 10**6)))
        elif kind == "max":
            out.append(draw(st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 1, width=64))))
        else:
            hashes = draw(st.lists(st.integers(0, 2**32 - 1), max_size=300, unique=True))
            out.append(sorted(hashes)[:256])
    out.append(draw(st.one_of(st.none(), st.integers(0, 2**45))))
    return out


def _reference(ts: list[TileValue]) -> dict[int, object]:
    m = merge_tiles(ts)
    return {i: sketch.estimate(m[i]) if KINDS[i] == "distinct" else m[i] for i in COLS}


def _same(a: dict[int, object], b: dict[int, object]) -> bool:
    return all(a[i] == b[i] and type(a[i]) is type(b[i]) for i in COLS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(tiles(), max_size=8), min_size=1, max_size=6))
def test_columns_equal_merge_tiles(windows: list[list[TileValue]]) -> None:
    stored = [[layout.encode_tile(t).encode() for t in w] for w in windows]
    batch = merge_segments(stored, COLS)
    for w, vals, got in zip(windows, stored, batch, strict=True):
        want = _reference(w)
        assert _same(merge_columns(vals, COLS), want)
        assert _same(got, want)
        if w:  # one tile, as a pre-merged window is read
            one = layout.encode_tile(w[0]).encode()
            assert _same(tile_columns(one, frozenset(COLS)), _reference(w[:1]))


def test_only_the_asked_columns_and_bad_values() -> None:
    t = layout.encode_tile([2, 1, 0, 1, 300, 300, None, [5, 9], 1000]).encode()
    assert merge_columns([t, t], [1, IDX_MAX_TIME]) == {1: 2, IDX_MAX_TIME: 1000}
    assert merge_columns([], [1, 5, 7, IDX_MAX_TIME]) == {1: 0, 5: None, 7: 0, IDX_MAX_TIME: None}
    with pytest.raises(ValueError, match="tile value b'1;2' has 2 parts, expected 9"):
        merge_segments([[t], [b"1;2"]], [1])
    with pytest.raises(ValueError):
        merge_columns([t.replace(b";1;", b";x;", 1)], [1])
    with pytest.raises(ValueError, match="multiple of 4"):
        merge_columns([t.replace(b"AAAABQAAAAk=", b"AAAB")], [7])
