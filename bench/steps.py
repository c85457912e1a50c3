"""The steps of ``make bench`` after the throughput and freshness runs (``bench/run.py``):
lookups, the training-data backfill, and the clean-up of the run's topics and keys."""

from __future__ import annotations

import json
import os
import shutil
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from userpulse import redis_conn, stack
from userpulse.settings import Settings


def lookups(settings: Settings, duration_s: float) -> dict[str, Any]:
    """Call ``bench.lookups.run`` (issue 5) with up to 1,000 synthetic users present in Redis."""
    try:
        from bench import lookups  # type: ignore[attr-defined]
    except ImportError as exc:
        return {"error": f"bench/lookups.py not available: {exc}"}
    r = redis_conn.connect(settings, "admin")
    users: list[str] = []
    for key in r.scan_iter(match="up:v1:{u*}", count=1000):
        k = key.decode()
        if k.endswith("}"):
            users.append(k[k.index("{") + 1 : -1])
        if len(users) >= 1000:
            break
    try:
        return dict(lookups.run(settings, users, duration_s=duration_s))
    except Exception as exc:  # another engineer's module: record, do not fail the bench
        return {
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()[-2000:],
        }


def backfill(quick: bool, out_dir: Path) -> dict[str, Any]:
    """``bench.backfill.run`` (issue 15), recorded as it answers; its table is printed."""
    if os.environ.get("BENCH_SKIP_BACKFILL", "0") not in ("", "0", "false", "no"):
        return {"skipped": "BENCH_SKIP_BACKFILL"}
    from bench import backfill

    try:
        res = backfill.run(quick)
    except Exception as exc:  # a failed case is recorded, not fatal to the rest of the bench
        return {"error": f"{type(exc).__name__}: {exc}"}
    (out_dir / "backfill.json").write_text(json.dumps(res, indent=1) + "\n")
    print(backfill.table(res))
    return res


def cleanup(settings: Settings, topics: list[str], log: Callable[[str], None]) -> None:
    """Delete the run's topics (and the peer's changelog topics), ``peer:*`` and probe keys."""
    existing = stack.list_topics(settings)
    names = {t for t in topics if t in existing}
    names |= {t for t in existing if any(f"--{x}--" in t or f"{x}--" in t for x in topics)}
    try:
        stack.delete_topics(settings, sorted(names))
    except stack.StackError as exc:
        log(f"clean-up: {exc}")
    for t in topics:  # the peers' RocksDB state
        for name in ("peer", "peer-tiles"):
            shutil.rmtree(settings.home / "bench" / f"{name}-state-{t}", ignore_errors=True)
    r = redis_conn.connect(settings, "admin")
    for pattern in ("peer:*", "peer-tiles:*", "up:v1:{probe-*"):
        batch = list(r.scan_iter(match=pattern, count=1000))
        for i in range(0, len(batch), 1000):
            r.delete(*batch[i : i + 1000])
