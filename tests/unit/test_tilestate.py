"""Per-user tile state: head + older tiles, out-of-order events, retention and expiry."""

from __future__ import annotations

from collections.abc import Iterator

from userpulse.events import Event, EventType
from userpulse.features import TILE_SIZES_MS
from userpulse.tiles import TileValue
from userpulse.tilestate import Head, Retention, all_tiles, expire, fold_event

T0 = 1717243200000


class DictTiles:
    """TileMap over a dict (the job uses Flink MapState)."""

    def __init__(self) -> None:
        self.d: dict[tuple[int, int], TileValue] = {}

    def get(self, key: tuple[int, int]) -> TileValue | None:
        return self.d.get(key)

    def put(self, key: tuple[int, int], tile: TileValue) -> None:
        self.d[key] = tile

    def remove(self, key: tuple[int, int]) -> None:
        del self.d[key]

    def keys(self) -> Iterator[tuple[int, int]]:
        return iter(list(self.d))


def click(t: int) -> Event:
    return Event("e", EventType.CLICK, "u", t, "s")


def test_in_order_events_stay_in_head_and_roll_over() -> None:
    head, older, ret = Head(), DictTiles(), Retention(600_000)
    touched, cleanup = fold_event(head, older, click(T0), ret)
    assert [(g, k) for g, k, _ in touched] == [(g, T0 // g) for g in TILE_SIZES_MS]
    assert cleanup == ret.cleanup_ms(1000, T0 // 1000) and not older.d
    touched, cleanup = fold_event(head, older, click(T0 + 500), ret)
    assert cleanup is None and touched[0][2][0] == 2  # same 1 s tile, n = 2
    fold_event(head, older, click(T0 + 1_000), ret)  # new 1 s tile: the old one moves out
    assert list(older.d) == [(1000, T0 // 1000)] and older.d[(1000, T0 // 1000)][1] == 2


def test_out_of_order_event_patches_an_older_tile() -> None:
    head, older, ret = Head(), DictTiles(), Retention(600_000)
    for t in (T0, T0 + 2_000, T0 + 500):
        fold_event(head, older, click(t), ret)
    assert older.d[(1000, T0 // 1000)][1] == 2
    assert sum(t[1] for g, _, t in all_tiles(head, older) if g == 1000) == 3


def test_expire_drops_tiles_past_retention_and_reports_next_cleanup() -> None:
    head, older, ret = Head(), DictTiles(), Retention(600_000)
    for t in (T0, T0 + 1_000):
        fold_event(head, older, click(t), ret)
    first = ret.cleanup_ms(1000, T0 // 1000)
    # tile end + 1 min window + 10 min lateness, rounded up to the minute
    assert first == T0 + 720_000 == ret.cleanup_ms(1000, T0 // 1000 + 1)
    dropped, nxt = expire(head, older, first - 1, ret)
    assert dropped == {} and nxt == first
    dropped, nxt = expire(head, older, first, ret)
    assert dropped == {1000: [T0 // 1000, T0 // 1000 + 1]}
    assert nxt == ret.cleanup_ms(5000, T0 // 5000)
    dropped, nxt = expire(head, older, 2**62, ret)
    assert nxt is None and list(all_tiles(head, older)) == []
