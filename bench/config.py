"""Knobs of ``make bench``, read once from ``BENCH_*`` environment variables (or flags of run.py).

| variable | default | quick (``BENCH_QUICK=1``) | meaning |
| --- | --- | --- | --- |
| ``BENCH_STEP_S`` | 60 | 15 | seconds per rate step of the sustained-throughput search |
| ``BENCH_FRESHNESS_S`` | 60 | 20 | seconds of the freshness run (at 50% of the sustained rate) |
| ``BENCH_PROBE_RATE`` | 20 | 20 | probe events per second during the freshness run |
| ``BENCH_CEILING_EVENTS`` | 300000 | 100000 | events in the ceiling topic |
| ``BENCH_JOB_START_RATE`` | 5000 | 5000 | first rate step for userpulse, events/s |
| ``BENCH_PARALLELISMS`` | 1,2 | 1,2 | the job's parallelisms (session cluster, one search each) |
| ``BENCH_LOCAL_JOB`` | 0 | 0 | 1 = also search ``userpulse job run`` (local execution, p = 1) |
| ``BENCH_PROFILE_RATE`` | 5000 | 5000 | JFR profile: load, events/s (<= 80% of p = 1's sustained) |
| ``BENCH_PROFILE_S`` | 60 | 20 | JFR profile: recorded seconds (0 = no profile) |
| ``BENCH_STATE_USERS`` | 1000000 | 1000000 | state size: distinct users (one event each) |
| ``BENCH_STATE_SIZE`` | 1 | 0 | 1 = measure the state size (bench/state_size.py) |
| ``BENCH_PEER_START_RATE`` | 100 | 100 | first rate step for the peer (sliding windows), events/s |
| ``BENCH_PEER_TILES_START_RATE`` | 500 | 500 | first rate step for the peer's tiles variant |
| ``BENCH_GROWTH`` | 1.5 | 1.5 | factor between rate steps until the lag grows |
| ``BENCH_MAX_RATE`` | 60000 | 60000 | the search stops here |
| ``BENCH_USERS`` | 10000 | 10000 | synthetic users (Zipf 1.1) |
| ``BENCH_PARTITIONS`` | 3 | 3 | partitions of the bench topics |
| ``BENCH_SKIP_PEER`` | 0 | 0 | 1 = leave out both peer variants |
| ``BENCH_PEER_PYTHON`` | ``.venv-peer/bin/python`` | | the peer's interpreter |
| ``BENCH_OUT`` | ``bench`` | ``bench/out`` | where report.json and the PNGs go |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench import REPO_ROOT


class BenchConfigError(ValueError):
    """A ``BENCH_*`` value does not parse or is out of range (the message names it)."""


@dataclass(frozen=True)
class BenchConfig:
    """All knobs of one bench run (see the module docstring for names and defaults)."""

    quick: bool
    step_s: float
    freshness_s: float
    probe_rate_per_s: float
    ceiling_events: int
    job_start_rate: float
    peer_start_rate: float
    peer_tiles_start_rate: float
    growth: float
    max_rate: float
    users: int
    partitions: int
    skip_peer: bool
    peer_python: Path
    out_dir: Path
    parallelisms: tuple[int, ...] = (1, 2)
    local_job: bool = False
    profile_rate: float = 5_000.0
    profile_s: float = 60.0
    state_users: int = 1_000_000
    state_size: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BenchConfig:
        """Read the knobs from ``env`` (default ``os.environ``; the entry point's only read).

        Raises:
            BenchConfigError: a value is not a number or out of range.
        """
        e = os.environ if env is None else env
        quick = e.get("BENCH_QUICK", "0") not in ("", "0", "false", "no")

        def num(name: str, default: float, quick_default: float | None = None) -> float:
            raw = e.get(name)
            if raw is None:
                return quick_default if quick and quick_default is not None else default
            try:
                v = float(raw)
            except ValueError:
                raise BenchConfigError(f"{name} must be a number, got {raw!r}") from None
            if not v > 0:
                raise BenchConfigError(f"{name} must be > 0, got {raw!r}")
            return v

        def flag(name: str, default: bool) -> bool:
            raw = e.get(name)
            return default if raw is None else raw not in ("", "0", "false", "no")

        try:
            parallelisms = tuple(
                int(x) for x in (e.get("BENCH_PARALLELISMS") or "1,2").split(",") if x.strip()
            )
        except ValueError:
            raise BenchConfigError(
                f"BENCH_PARALLELISMS must be comma-separated integers, got "
                f"{e.get('BENCH_PARALLELISMS')!r}"
            ) from None
        if not parallelisms or min(parallelisms) < 1:
            raise BenchConfigError("BENCH_PARALLELISMS must list parallelisms >= 1")
        raw_profile = e.get("BENCH_PROFILE_S")
        profile_s = (20.0 if quick else 60.0) if raw_profile is None else float(raw_profile or 0)
        growth = num("BENCH_GROWTH", 1.5)
        if growth <= 1.0:
            raise BenchConfigError(f"BENCH_GROWTH must be > 1, got {growth}")
        out = e.get("BENCH_OUT") or str(REPO_ROOT / ("bench/out" if quick else "bench"))
        return cls(
            quick=quick,
            step_s=num("BENCH_STEP_S", 60, 15),
            freshness_s=num("BENCH_FRESHNESS_S", 60, 20),
            probe_rate_per_s=num("BENCH_PROBE_RATE", 20),
            ceiling_events=int(num("BENCH_CEILING_EVENTS", 300_000, 100_000)),
            job_start_rate=num("BENCH_JOB_START_RATE", 5_000),
            peer_start_rate=num("BENCH_PEER_START_RATE", 100),
            peer_tiles_start_rate=num("BENCH_PEER_TILES_START_RATE", 500),
            growth=growth,
            max_rate=num("BENCH_MAX_RATE", 60_000),
            users=int(num("BENCH_USERS", 10_000)),
            partitions=int(num("BENCH_PARTITIONS", 3)),
            skip_peer=e.get("BENCH_SKIP_PEER", "0") not in ("", "0", "false", "no"),
            peer_python=Path(e.get("BENCH_PEER_PYTHON") or REPO_ROOT / ".venv-peer/bin/python"),
            out_dir=Path(out),
            parallelisms=parallelisms,
            local_job=flag("BENCH_LOCAL_JOB", False),
            profile_rate=num("BENCH_PROFILE_RATE", 5_000),
            profile_s=profile_s,
            state_users=int(num("BENCH_STATE_USERS", 1_000_000)),
            state_size=flag("BENCH_STATE_SIZE", not quick),
        )
