"""The tile-state golden vectors (``vectors/tilestate.json``, described in
:mod:`tests.unit.jvm_vectors`): seeded event sequences folded by the Python implementation
(:mod:`userpulse.tilestate`, :mod:`userpulse.profile`, :mod:`userpulse.premerge`), recorded op
by op for the JVM's ``TileStateVectorsTest`` to replay.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from tests.unit.jvm_vectors_base import (
    ALLOWED_LATENESS_MS,
    AS_OF_OFFSETS,
    INLINE_MAX,
    MIN_WATERMARK,
    OUT_OF_ORDERNESS_MS,
    SEED,
    T0,
)
from tests.unit.test_tilestate import DictTiles
from userpulse import premerge, profile
from userpulse.events import Event, EventType
from userpulse.layout import encode_tile
from userpulse.tilestate import Head, Retention, all_tiles, expire, fold_event

_C, _S, _H = EventType.CLICK, EventType.SCROLL, EventType.HOVER


def _short(s: str) -> str:
    if len(s) <= INLINE_MAX:
        return s
    return "sha256:" + hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()


def _event_doc(e: Event) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": e.event_id, "type": e.event_type.value, "user": e.user_id}
    doc["t"] = e.event_time_ms
    for key, v in (
        ("item", e.item_id),
        ("position", e.position),
        ("dwell", e.dwell_ms),
        ("depth", e.scroll_depth),
        ("row", e.row),
        ("px", e.scroll_px),
    ):
        if v is not None:
            doc[key] = v
    return doc


class _Sim:
    """One user's state driven like the job: revive when there is no state, fold, expire."""

    def __init__(self, name: str, stored: str | None = None) -> None:
        self.name = name
        self.stored = stored  # what Redis holds as the profile JSON
        self.head: Head | None = None
        self.older = DictTiles()
        self.ret = Retention(ALLOWED_LATENESS_MS)
        self.max_t: int | None = None
        self.ops: list[dict[str, Any]] = []

    def watermark(self) -> int:
        if self.max_t is None:
            return MIN_WATERMARK
        return self.max_t - OUT_OF_ORDERNESS_MS - 1

    def event(self, e: Event, wm: int | None = None) -> None:
        wm = self.watermark() if wm is None else wm
        op: dict[str, Any] = {"op": "event", "event": _event_doc(e), "wm": wm}
        if self.head is None:
            op["revive"] = self.stored
            stored = None if self.stored is None else json.loads(self.stored)
            self.head = Head(profile=profile.revive(stored, e))
        touched, cleanup = fold_event(self.head, self.older, e, self.ret)
        profile.fold(self.head.profile, e, wm, ALLOWED_LATENESS_MS)
        self.stored = self.head.profile.record_json()
        op["expect"] = {
            "touched": [[g, k, _short(encode_tile(t))] for g, k, t in touched],
            "cleanup": cleanup,
            "profile": _short(self.stored),
            "premerged": self._premerged(e.event_time_ms + AS_OF_OFFSETS[len(self.ops) % 5]),
        }
        self.ops.append(op)
        self.max_t = e.event_time_ms if self.max_t is None else max(self.max_t, e.event_time_ms)

    def _premerged(self, as_of: int) -> dict[str, Any]:
        """The pre-merged fields as of ``as_of`` (:func:`userpulse.premerge.fields`), one
        ``field=value`` line each, and when to refresh them."""
        assert self.head is not None
        tiles = {(g, k): t for g, k, t in all_tiles(self.head, self.older)}
        fields, refresh = premerge.fields(tiles, self.head.profile.version, as_of)
        lines = "".join(f"{f}={v}\n" for f, v in fields.items())
        return {"as_of": as_of, "fields": _short(lines), "refresh": refresh}

    def expire(self, wm: int) -> int | None:
        assert self.head is not None
        dropped, nxt = expire(self.head, self.older, wm, self.ret)
        tiles = sorted((g, k, encode_tile(t)) for g, k, t in all_tiles(self.head, self.older))
        if nxt is None:
            self.head = None
            self.older = DictTiles()
        self.ops.append(
            {
                "op": "expire",
                "wm": wm,
                "expect": {
                    "dropped": {str(g): sorted(ks) for g, ks in sorted(dropped.items())},
                    "next": nxt,
                    "tiles": _short("".join(f"{g} {k} {enc}\n" for g, k, enc in tiles)),
                },
            }
        )
        return nxt

    def expire_all(self) -> None:
        """Expire at the pending cleanup times until the state is freed (as event-time timers)."""
        while self.head is not None:
            nxt = self.head.next_cleanup_ms
            assert nxt is not None
            self.expire(nxt)

    def case(self) -> dict[str, Any]:
        return {"name": self.name, "ops": self.ops}


class _Events:
    """Seeded random events of one user."""

    def __init__(self, rng: random.Random, user: str = "u-1") -> None:
        self.rng = rng
        self.user = user
        self.n = 0

    def make(
        self,
        t: int,
        typ: EventType | None = None,
        item: str | None = "",
        event_id: str | None = None,
        **fields: Any,
    ) -> Event:
        rng = self.rng
        self.n += 1
        typ = typ or rng.choice((_C, _S, _H))
        if item == "":
            item = None if rng.random() < 0.2 else f"item-{rng.randrange(40)}"
        kw: dict[str, Any] = {"item_id": item}
        if rng.random() < 0.3:
            kw["row"] = rng.randrange(12)
        if typ is _C and rng.random() < 0.7:
            kw["position"] = rng.randrange(30)
        elif typ is _H:
            kw["dwell_ms"] = rng.choice((0, rng.randrange(50), rng.randrange(20_000)))
        elif typ is _S:
            r = rng.random()
            if r < 0.7:
                kw["scroll_depth"] = rng.choice((0.0, 0.0001, 0.3, 1.0, round(rng.random(), 3)))
            if r > 0.5:
                kw["scroll_px"] = rng.randrange(5_000)
        kw.update(fields)
        eid = event_id if event_id is not None else f"e{self.n:05d}"
        return Event(eid, typ, self.user, t, "s-1", **kw)


def _in_order(rng: random.Random) -> _Sim:
    sim, ev, t = _Sim("in_order"), _Events(rng), T0
    for i in range(160):
        t += rng.choice((0, 1, 250, 999, 1_000, 4_321, 61_000, 700_000, 2_000_000))
        sim.event(ev.make(t))
        if i % 40 == 39:
            sim.expire(sim.watermark())
    sim.expire_all()
    return sim


def _out_of_order(rng: random.Random) -> _Sim:
    sim, ev = _Sim("out_of_order_and_late"), _Events(rng)
    t = T0 + 3_600_000
    for i in range(160):
        t += rng.randrange(0, 3_000)
        jitter = rng.choice((0, 0, 0, rng.randrange(10_000), rng.randrange(ALLOWED_LATENESS_MS)))
        sim.event(ev.make(t - jitter))
        if i % 50 == 49:
            sim.expire(sim.watermark())
    sim.expire_all()
    return sim


def _duplicates_and_ties(rng: random.Random) -> _Sim:
    """Replayed event ids (tiles count them again, last-k does not), equal times, non-ASCII."""
    sim, ev = _Sim("duplicates_ties_non_ascii"), _Events(rng)
    ids = ["a", "b", "B", "é", "\uffff", "\U0001f600", "z\u00e9", "\u65e5\u672c"]
    items = ["i-1", "caf\u00e9", "\U0001f4a9", 'q"uote\\', "tab\tnl\n", "\x7f\x00"]
    for i in range(120):
        t = T0 + 10_000 + rng.randrange(4) * 1_000
        typ = rng.choice((_C, _H))
        sim.event(ev.make(t, typ, item=rng.choice(items), event_id=rng.choice(ids) + str(i % 3)))
    sim.expire_all()
    return sim


def _many_items(rng: random.Random) -> _Sim:
    """More distinct items than the sketch keeps (k = 256) in the 24 min tile."""
    sim, ev = _Sim("many_distinct_items"), _Events(rng)
    for i in range(330):
        t = T0 + i * 1_000 + rng.randrange(1_000)
        item = f"item-{rng.randrange(100_000)}" if i % 7 else "item-dup"
        sim.event(ev.make(t, rng.choice((_C, _H)), item=item))
    sim.expire_all()
    return sim


def _floats_and_huge(rng: random.Random) -> _Sim:
    """Awkward scroll depths and dwell sums beyond 64 bits (Python ints are exact)."""
    sim, ev = _Sim("floats_huge_dwell"), _Events(rng)
    depths = [0.0001, 0.3, 1.0, 0.0, 1e-05, 0.1, 0.2, 0.7, 2.5e-07, 0.123456789012345, 5e-324]
    big = 2**63 - 1
    dwells = [big, big, 2**53 + 1, 0, 1, big - 1, 9_007_199_254_740_993]
    t = T0
    for i in range(90):
        t += rng.choice((1, 400, 3_000))
        if i % 2:
            sim.event(ev.make(t, _S, scroll_depth=rng.choice(depths) if i % 5 else None))
        else:
            sim.event(ev.make(t, _H, dwell_ms=rng.choice(dwells)))
    sim.expire_all()
    return sim


def _sessions(rng: random.Random) -> _Sim:
    """Sessions split by 30 min gaps, merged by late events, dropped past the horizon."""
    sim, ev = _Sim("sessions_merge_horizon"), _Events(rng)
    gap = 1_800_000
    base = T0 + 86_400_000
    for t in (base, base + gap + 1, base + 2 * gap + 2, base + gap // 2, base + 3 * gap + 10):
        sim.event(ev.make(t, _C))
    for t in (base + 3 * gap + 10 + gap - 1, base + 3 * gap + 10 + gap):  # exactly at the gap
        sim.event(ev.make(t, _H))
    late = base + 5 * gap
    sim.event(ev.make(late, _S), wm=late + 10 * gap)  # a large watermark: old sessions drop
    sim.event(ev.make(late + 60_000, _C), wm=late + 10 * gap)
    sim.event(ev.make(late - gap + 1, _C))  # within the gap of the kept session
    for _ in range(40):
        sim.event(ev.make(late + rng.randrange(-4 * gap, 4 * gap), rng.choice((_C, _H))))
    sim.expire_all()
    return sim


def _revival(rng: random.Random, stored: str) -> _Sim:
    """A quiet user comes back (revive from the stored record), then a replay of that revival
    after a restore (same first event id: continue from ``base``), then a stored record with
    extra keys, non-ASCII text and floats kept as they are in ``base``."""
    sim, ev = _Sim("revival", stored), _Events(rng)
    first = ev.make(T0 + 30 * 86_400_000, _C, item="back")
    sim.event(first)
    for i in range(12):
        sim.event(ev.make(T0 + 30 * 86_400_000 + i * 7_000, rng.choice((_C, _H, _S))))
    sim.expire_all()
    # a replay of the revival after a restore: the stored record was revived by ``first``
    sim.ops.append({"op": "restore"})
    sim.head = None
    sim.max_t = None
    sim.event(first)
    sim.event(ev.make(first.event_time_ms + 1, _H, item="again"))
    sim.expire_all()
    odd = {
        "c": {"HOVER": 3, "CLICK": 1, "LEGACY": 7},
        "fs": T0 - 5,
        "ls": T0 + 9,
        "k": {"HOVER": [[T0 + 9, "x\u00e9", "\u00fc"], [T0, "a", "b"]], "OTHER": [[1, "a", "b"]]},
        "s": [T0 - 5, T0 + 9, 4],
        "v": 8,
        "extra": {"f": 1.5, "big": 2**70, "e": 1e-07, "list": [True, False, None, "\u2028"]},
        "rev": "old",
        "base": {"v": 1},
    }
    sim.stored = json.dumps(odd, separators=(",", ":"))
    sim.head = None
    sim.max_t = None
    sim.event(ev.make(T0 + 60 * 86_400_000, _H, item="z"))
    sim.stored = json.dumps({"rev": "same", "base": None, "v": 3}, separators=(",", ":"))
    sim.expire_all()
    sim.event(ev.make(T0 + 61 * 86_400_000, _C, item="w", event_id="same"))
    sim.expire_all()
    sim.stored = "null"
    sim.event(ev.make(T0 + 62 * 86_400_000, _S, item=None))
    sim.expire_all()
    return sim


def tilestate_vectors() -> dict[str, Any]:
    """The ``vectors/tilestate.json`` document."""
    rng = random.Random(SEED)
    sims = [
        _in_order(rng),
        _out_of_order(rng),
        _duplicates_and_ties(rng),
        _many_items(rng),
        _floats_and_huge(rng),
        _sessions(rng),
    ]
    sims.append(_revival(rng, sims[0].stored or "null"))
    return {
        "generator": "tests/unit/jvm_vectors.py",
        "allowed_lateness_ms": ALLOWED_LATENESS_MS,
        "cases": [s.case() for s in sims],
    }
