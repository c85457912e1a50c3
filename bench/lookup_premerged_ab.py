"""Interleaved A/B of one lookup: the pre-merged fast path against the full read and merge
(issue 16), on the same users and Redis, in one process, so the machine's load hits both alike.

Writes ``--users`` sample users (:func:`bench.lookup_sample.write_sample_states`, pre-merged
fields as of the write time T) and looks them up as of T (where the fast path holds by
construction; its hit ratio over time is what ``bench.lookups`` reports): per round a random
batch through both clients, in alternating order, the answers asserted equal. Then the answer
alone on replies
fetched once (:func:`userpulse.lookup.premerged.fast_results` against
:func:`userpulse.lookup.merge.features_many`). Prints p50 / p99 in ms as JSON::

    .venv/bin/python -m bench.lookup_premerged_ab [--users 1000] [--rounds 3000]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import Any

from bench.lookup_sample import write_sample_states
from userpulse import redis_conn
from userpulse.features import FEATURE_NAMES
from userpulse.lookup import FeatureClient
from userpulse.lookup.merge import features_many, queue_reads
from userpulse.lookup.premerged import FastPath, fast_fields, fast_results, queue_fast_reads
from userpulse.settings import Settings


def _pcts(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    n = len(ms)
    return {"p50": round(ms[n // 2], 3), "p99": round(ms[min(n - 1, int(0.99 * n))], 3)}


def _timed(into: list[float], fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    into.append((time.perf_counter() - t0) * 1000)
    return out


def run(settings: Settings, n_users: int = 1_000, rounds: int = 3_000) -> dict[str, Any]:
    """Measure (see the module doc); ``rounds`` single-user rounds, a tenth as many 100-user ones.

    Returns:
        ``{"<shape>": {"fast": {p50, p99}, "full": {p50, p99}}, ...}`` for the shapes ``1 user``,
        ``100 users``, ``answer 1 user``, ``answer 100 users``, and ``fast_path`` (hit counts).

    Raises:
        AssertionError: the two paths answered differently.
    """
    states, as_of = write_sample_states(settings, n_users)
    users = [s.user_id for s in states]
    fast = FeatureClient.from_settings(settings)
    full = FeatureClient.from_settings(settings)
    full.fast_path = FastPath(enabled=False)
    r = redis_conn.connect(settings, "lookup")
    names = list(FEATURE_NAMES)
    fields = fast_fields(tuple(names))
    rnd = random.Random(7)
    out: dict[str, Any] = {}
    for k in (1, 100):
        lat: dict[str, list[float]] = {"fast": [], "full": [], "answer fast": [], "answer full": []}
        for i in range(rounds if k == 1 else max(1, rounds // 10)):
            us = rnd.sample(users, k)
            order = [("fast", fast), ("full", full)]
            if i % 2:
                order.reverse()
            got = {}
            for name, c in order:
                got[name] = _timed(lat[name], c.get_many, us, as_of=as_of)
            assert got["fast"] == got["full"], us
            p = r.pipeline(transaction=False)
            for u in us:
                queue_fast_reads(p, u, fields)
            fr = p.execute()
            p = r.pipeline(transaction=False)
            for u in us:
                queue_reads(p, u)
            fl = p.execute()
            stored = [(fl[2 * j] or {}, fl[2 * j + 1]) for j in range(k)]
            _timed(lat["answer fast"], fast_results, us, names, as_of, fr, None, False)
            _timed(lat["answer full"], features_many, names, as_of, stored)
        shape = f"{k} user" + ("s" if k > 1 else "")
        out[shape] = {"fast": _pcts(lat["fast"]), "full": _pcts(lat["full"])}
        out[f"answer {shape}"] = {
            "fast": _pcts(lat["answer fast"]),
            "full": _pcts(lat["answer full"]),
        }
    out["fast_path"] = fast.fast_path.stats()
    fast.close()
    full.close()
    return out


def main() -> None:
    """``python -m bench.lookup_premerged_ab``: on the Redis the ``USERPULSE_*`` settings name."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000, help="users to write and look up")
    ap.add_argument("--rounds", type=int, default=3_000, help="single-user rounds")
    args = ap.parse_args()
    print(json.dumps(run(Settings(), args.users, args.rounds), indent=1))


if __name__ == "__main__":
    main()
