"""Where a lookup's time goes (:mod:`bench.lookups`): Redis round trip and merge, one user and a
batch, with the pre-issue-16 decode as a same-run baseline."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from userpulse import redis_conn
from userpulse.settings import Settings


def _decode_every_tile(t: int, h: dict[bytes, bytes]) -> list[Any]:
    """The pre-issue-16 way, as a same-run baseline: decode every stored tile field by field
    (``userpulse.layout.decode_tile``) and fold each window's tiles with ``merge_tiles``."""
    from userpulse import layout
    from userpulse.features import WINDOWS
    from userpulse.tiles import merge_tiles, window_tiles

    by_size: dict[int, list[tuple[int, Any]]] = {}
    for f, v in h.items():
        if f[:2] == b"t:":
            _, g, k = layout.parse_field(f.decode())
            by_size.setdefault(g, []).append((k, layout.decode_tile(v)))
    out = []
    for w in WINDOWS:
        first, last = window_tiles(t, w.window_ms, w.tile_ms)
        out.append(merge_tiles(v for k, v in by_size.get(w.tile_ms, []) if first <= k <= last))
    return out


def breakdown(
    settings: Settings, users: Sequence[str], batch: int = 100, n: int = 1_000
) -> dict[str, Any]:
    """Where a lookup's time goes, measured in this process (closed loop, ms): for one user,
    the Redis round trip alone (one pipeline) and the merge alone
    (:func:`userpulse.lookup.merge.features_from_replies`, every feature), next to the window part
    decoded the pre-issue-16 way (:func:`_decode_every_tile`, same replies, interleaved: a
    ratio that the machine's load does not skew); for ``batch`` users, the round trip and
    :func:`userpulse.lookup.merge.features_many` (every feature), next to the same baseline.

    The baseline merges the window features only (the state features, ~10 of 46, are left
    out), so it understates the old cost."""
    from userpulse.features import FEATURE_NAMES
    from userpulse.lookup.merge import features_from_replies, features_many, queue_reads

    r = redis_conn.connect(settings, "lookup")
    rnd = random.Random(2)
    names = list(FEATURE_NAMES)
    now_ms = int(time.time() * 1000)
    rtt: list[float] = []
    merge: list[float] = []
    old: list[float] = []
    for _ in range(n):
        pipe = r.pipeline(transaction=False)
        queue_reads(pipe, rnd.choice(list(users)))
        t0 = time.perf_counter()
        replies = pipe.execute()
        t1 = time.perf_counter()
        features_from_replies(names, now_ms, replies)
        t2 = time.perf_counter()
        _decode_every_tile(now_ms, replies[0])
        t3 = time.perf_counter()
        rtt.append((t1 - t0) * 1000)
        merge.append((t2 - t1) * 1000)
        old.append((t3 - t2) * 1000)
    rtt100: list[float] = []
    merge100: list[float] = []
    old100: list[float] = []
    for _ in range(max(5, n // 50)):
        pipe = r.pipeline(transaction=False)
        for u in rnd.sample(list(users), batch):
            queue_reads(pipe, u)
        t0 = time.perf_counter()
        replies = pipe.execute()
        t1 = time.perf_counter()
        features_many(names, now_ms, list(zip(replies[::2], replies[1::2], strict=True)))
        t2 = time.perf_counter()
        for h in replies[::2]:
            _decode_every_tile(now_ms, h)
        rtt100.append((t1 - t0) * 1000)
        merge100.append((t2 - t1) * 1000)
        old100.append((time.perf_counter() - t2) * 1000)

    def pct(xs: list[float]) -> dict[str, float]:
        xs.sort()
        return {"p50_ms": round(xs[len(xs) // 2], 3), "p99_ms": round(xs[int(0.99 * len(xs))], 3)}

    m, o = pct(merge), pct(old)
    m100, o100 = pct(merge100), pct(old100)
    return {
        "features": len(names),
        "redis_round_trip": pct(rtt),
        "merge_one_user": m,
        "baseline_decode_every_tile_windows_only": o,
        "merge_speedup_p50": round(o["p50_ms"] / m["p50_ms"], 2) if m["p50_ms"] else None,
        "redis_round_trip_100_users": pct(rtt100),
        "merge_100_users": m100,
        "baseline_decode_every_tile_windows_only_100_users": o100,
        "merge_speedup_100_users_p50": (
            round(o100["p50_ms"] / m100["p50_ms"], 2) if m100["p50_ms"] else None
        ),
    }
