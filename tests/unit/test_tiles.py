"""Tile and window arithmetic against case H05 (start inclusive, end exclusive)."""

from __future__ import annotations

import pytest

from tests.cases import case_events, load_cases
from userpulse.events import Event, EventType
from userpulse.features import FEATURES_BY_NAME, WINDOWS, Window
from userpulse.sketch import value_hash
from userpulse.tiles import (
    add_event,
    empty_tile,
    merge_tiles,
    tile_index,
    window_bounds,
    window_tiles,
)

T0 = 1717243200000


def _count(events: list[Event], feature: str, as_of: int) -> int:
    """Count through the tile path: fold events into tiles, merge the window's tiles."""
    f = FEATURES_BY_NAME[feature]
    g = f.window.tile_ms
    tiles: dict[int, list] = {}
    for e in events:
        add_event(tiles.setdefault(tile_index(e.event_time_ms, g), empty_tile()), e)
    first, last = window_tiles(as_of, f.window.window_ms, g)
    merged = merge_tiles(v for k, v in tiles.items() if first <= k <= last)
    return int(merged[1])  # count_click


def test_h05_through_tiles() -> None:
    case = load_cases()["H05"]
    events = case_events(case)
    for exp in case["expect"]["features"]:
        assert _count(events, exp["feature"], exp["as_of"]) == exp["value"], exp


def test_window_bounds_examples() -> None:
    assert window_bounds(T0 + 59_999, 60_000, 1_000) == (T0, T0 + 60_000)
    assert window_bounds(T0 + 60_000, 60_000, 1_000) == (T0 + 1_000, T0 + 61_000)
    assert window_bounds(T0, 300_000, 5_000) == (T0 - 295_000, T0 + 5_000)
    assert tile_index(T0 + 999, 1_000) == tile_index(T0, 1_000)
    assert tile_index(T0 + 1_000, 1_000) == tile_index(T0, 1_000) + 1


@pytest.mark.parametrize("w", WINDOWS)
def test_window_covers_exactly_w_over_g_tiles(w: Window) -> None:
    for t in (T0, T0 + 1, T0 + w.tile_ms - 1, T0 + 12_345_678):
        first, last = window_tiles(t, w.window_ms, w.tile_ms)
        assert last - first + 1 == w.tiles
        start, end = window_bounds(t, w.window_ms, w.tile_ms)
        assert start <= t < end and end - start == w.window_ms


def test_tile_must_divide_window() -> None:
    with pytest.raises(ValueError, match="does not divide"):
        Window("7s", 7_000, 2_000)


def test_merge_sums_counts_and_takes_max() -> None:
    a, b = empty_tile(), empty_tile()
    add_event(a, Event("1", EventType.SCROLL, "u", T0, "s", scroll_depth=0.4))
    add_event(b, Event("2", EventType.SCROLL, "u", T0 + 5, "s", scroll_depth=0.7))
    add_event(b, Event("3", EventType.HOVER, "u", T0 + 9, "s", dwell_ms=120, item_id="i1"))
    add_event(a, Event("4", EventType.HOVER, "u", T0 + 7, "s", dwell_ms=80, item_id="i1"))
    add_event(a, Event("5", EventType.CLICK, "u", T0 + 8, "s", item_id="i2"))
    m = merge_tiles([a, b])
    # n, clicks, scrolls, hovers, dwell sum, dwell max, depth max, distinct items, newest time
    hashes = sorted({value_hash("i1"), value_hash("i2")})
    assert m == [5, 1, 2, 2, 200, 120, 0.7, hashes, T0 + 9]
    assert merge_tiles([]) == empty_tile()
