"""The steps of ``make bench`` after the throughput and freshness runs (``bench/run.py``):
lookups, the training-data backfill, the outputs (plots, ``report.json``, printed tables), the
clean-up of the run's topics and keys; and the bench Redis's persistence settings for the report."""

from __future__ import annotations

import json
import os
import re
import shutil
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from bench import jvm_profile, machine_cpu, plots, report, state_size
from userpulse import redis_conn, stack
from userpulse.settings import Settings

# the synthetic load's users (`userpulse produce synthetic`: "u" and digits) and their profiles
SYNTHETIC_USER_KEY = re.compile(r"^up:v1:\{u\d+\}(:p)?$")


def delete_synthetic_users(settings: Settings) -> int:
    """Delete the synthetic load's users' keys (``up:v1:{u<digits>}`` and their profiles
    ``up:v1:{u<digits>}:p``) from the bench Redis; returns how many were deleted.

    Called before each system's run (``make bench``) and each ``bench.ab`` run: the job continues
    a user's stored profile when the user has no state yet (revival, docs/job.md), so without it
    every run continued the profiles the runs before it had written (full last-k lists: in
    ``bench.ab`` at 8,000 events/s, checkpoints twice as large and the drain ~40 % slower after
    an hour of runs), and results depended on what had run before. Other keys (other users,
    ``up:v1:gen``) are kept.
    """
    r = redis_conn.connect(settings, "admin")
    return _unlink_matching(r, "up:v1:{u[0-9]*", SYNTHETIC_USER_KEY)


def _unlink_matching(r: redis.Redis, pattern: str, exact: re.Pattern[str] | None = None) -> int:
    """UNLINK the keys SCAN finds for the glob ``pattern`` (and, with ``exact``, that match it
    too), 1,000 at a time; returns how many were deleted."""
    batch: list[bytes] = []
    deleted = 0
    for key in r.scan_iter(match=pattern, count=1000):
        if exact is None or exact.match(key.decode(errors="replace")):
            batch.append(key)
        if len(batch) >= 1000:
            deleted += int(r.unlink(*batch))
            batch = []
    if batch:
        deleted += int(r.unlink(*batch))
    return deleted


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
        _unlink_matching(r, pattern)


def write_outputs(
    rep: dict[str, Any],
    systems: dict[str, dict[str, Any]],
    ceiling: dict[str, Any],
    extra: dict[str, Any],
    out_dir: Path,
) -> None:
    """Write the plots and ``report.json`` of a finished run into ``out_dir`` and print the
    tables (report, the machine's CPU by process group per step, JVM CPU by stage, state size)
    and the targets. ``rep`` gains ``plots``."""
    samples = {
        n: [(t, v) for t, v in s.get("freshness_samples", [])]
        for n, s in systems.items()
        if s.get("freshness_samples")
    }
    steps = {n: s.get("steps", []) for n, s in systems.items()}
    rep["plots"] = [
        str(plots.freshness_hist(samples, out_dir / "freshness_hist.png")),
        str(plots.freshness_over_time(samples, out_dir / "freshness_over_time.png")),
        str(plots.throughput(steps, ceiling.get("events_per_s"), out_dir / "throughput.png")),
    ]
    prof = extra.get("jvm_profile") or {}
    if prof.get("us_per_event"):
        rep["plots"].append(str(plots.cpu_by_stage(prof, out_dir / "jvm_cpu_by_stage.png")))
    (out_dir / "report.json").write_text(json.dumps(rep, indent=1) + "\n")
    print(report.table(rep))
    if cpu := machine_cpu.table(systems):
        print(cpu)
    if prof.get("us_per_event"):
        print(jvm_profile.table(prof))
    if extra.get("state_size") and "skipped" not in extra["state_size"]:
        print(state_size.table(extra["state_size"]))
    for t in rep["targets"]:
        print(f"target {t['target']}: value {t['value']} met {t['met']}")


def redis_persistence(settings: Settings) -> dict[str, str]:
    """The bench Redis's persistence settings (``appendonly``, ``appendfsync``, ``save``,
    ``auto-aof-rewrite-min-size`` in bytes): the stack's Redis runs with an append-only file
    fsynced every second, rewritten from 1 GiB on (production default,
    :data:`userpulse.stack.redis_server.DURABILITY_ARGS`);
    ``{}`` when it cannot be asked."""
    keys = ("appendonly", "appendfsync", "save", "auto-aof-rewrite-min-size")
    try:
        admin = redis_conn.connect(settings, "admin")
        conf = {**admin.config_get("append*"), **admin.config_get("save")}
        conf.update(admin.config_get("auto-aof-rewrite-min-size"))
    except redis.RedisError:
        return {}
    return {k: str(v) for k, v in sorted(conf.items()) if k in keys}
