"""The pre-merged fast path (``userpulse.premerge`` written, ``userpulse.lookup.premerged`` read)
answers exactly what the full tile merge answers, at random lookup times around T and each
window's ``valid_until``, for random tile states, feature subsets and pruned marks; and it does
answer (from the pre-merged values alone) whenever they hold."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_merge_reference import T0, events
from tests.unit.test_tilestate import DictTiles
from userpulse import layout, premerge, profile
from userpulse.events import Event
from userpulse.features import FEATURE_NAMES, FEATURES_BY_NAME, TILE_SIZES_MS, WINDOWS
from userpulse.lookup.merge import features_for
from userpulse.lookup.premerged import FastPath, fast_fields, fast_results
from userpulse.tiles import TileValue, window_tiles
from userpulse.tilestate import Head, Retention, all_tiles, fold_event


def _state(evs: list[Event]) -> tuple[dict[tuple[int, int], TileValue], profile.Profile]:
    head, older, ret = Head(), DictTiles(), Retention(600_000)
    for e in evs:
        fold_event(head, older, e, ret)
        profile.fold(head.profile, e, -(2**62), 600_000)
    return {(g, k): v for g, k, v in all_tiles(head, older)}, head.profile


def _hash(
    tiles: dict[tuple[int, int], TileValue], prof: profile.Profile, as_of: int
) -> dict[bytes, bytes]:
    h = {layout.tile_field(g, k): layout.encode_tile(v) for (g, k), v in tiles.items()}
    h[layout.META_LAST_SEEN] = str(prof.last_seen)
    h.update(premerge.fields(tiles, prof.version, as_of)[0])
    return {f.encode(): v.encode() for f, v in h.items()}


def _fast(names: list[str], t: int, h: dict[bytes, bytes], prof: bytes) -> dict | None:
    """The fast path's answer for the user, or None when it leaves the user to the full path."""
    reply = [h.get(f) for f in fast_fields(tuple(names))]
    done, rest, with_fields = fast_results(["u"], names, t, [reply, prof], None, False)
    assert with_fields == 1
    return done.get("u")


@settings(max_examples=120, deadline=None)
@given(
    events(),
    st.integers(0, 4 * 3_600_000),
    st.lists(st.integers(-5_000, 3_600_000), min_size=1, max_size=4),
    st.lists(st.sampled_from(FEATURE_NAMES), min_size=1, max_size=8, unique=True) | st.none(),
    st.none() | st.tuples(st.sampled_from(TILE_SIZES_MS), st.integers(-120_000, 3_600_000)),
)
def test_fast_path_equals_full_merge(
    evs: list[Event],
    as_of_off: int,
    offsets: list[int],
    subset: list[str] | None,
    pruned: tuple[int, int] | None,
) -> None:
    tiles, prof = _state(evs)
    big_t = T0 + as_of_off
    h = _hash(tiles, prof, big_t)
    if pruned is not None:
        g, off = pruned
        h[layout.pruned_field(g).encode()] = str((T0 + off) // g).encode()
    p = layout.encode_profile(prof.version, prof.record_json()).encode()
    names = list(FEATURE_NAMES) if subset is None else subset
    values = premerge.premerge(tiles, big_t)
    untils = [v.valid_until_ms for v in values.values() if v.valid_until_ms is not None]
    times = {big_t + o for o in offsets} | {big_t - 1, big_t}
    times |= {u - 1 for u in untils if u - 1 >= big_t} | set(untils)
    for t in sorted(times):
        full = features_for(names, t, h, p)
        fast = _fast(names, t, h, p)
        if fast is not None:
            assert fast == full, t
            assert list(fast) == list(full)
        needed = {FEATURES_BY_NAME[n].window.window_ms for n in names if n in FEATURES_BY_NAME}
        holds = big_t <= t and all(
            values[w].valid_until_ms is None or t < values[w].valid_until_ms for w in needed
        )
        if not holds:
            assert fast is None, t  # before T or past a needed window's valid_until
        elif all(n in FEATURES_BY_NAME for n in names) or prof.last_seen < (t // 1000 + 1) * 1000:
            # only windows, or a profile that knows every event up to t: answered without tiles
            assert fast is not None, t


def test_valid_until_is_the_oldest_exit_or_the_nearest_entry() -> None:
    w = WINDOWS[0]  # 1 min of 1 s tiles
    t = 1_000_000_500
    first, last = window_tiles(t, w.window_ms, w.tile_ms)
    assert premerge.valid_until([first + 3, last], t, w) == (first + 3 + 60) * 1000
    assert premerge.valid_until([first - 1, last + 7], t, w) == (last + 7) * 1000
    assert premerge.valid_until([first + 3, last + 2], t, w) == (last + 2) * 1000
    assert premerge.valid_until([first - 5], t, w) is None


def test_fast_path_switches_off_when_no_user_has_premerged_fields() -> None:
    now = [100.0]
    fp = FastPath(retry_s=5.0, clock_s=lambda: now[0])
    assert not FastPath(enabled=False).use()
    fp.record(answered=3, left=1, with_fields=4)
    assert fp.use() and fp.stats() == {"hits": 3, "misses": 1}
    fp.record(answered=0, left=2, with_fields=0)
    assert not fp.use()
    now[0] += 5.0
    assert fp.use()
