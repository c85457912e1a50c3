"""Interleaved A/B of the HTTP service's single-user lookups: the fast route
(:mod:`userpulse.lookup.service.fastroute`, the default) against every request through FastAPI
(``USERPULSE_SERVICE_FAST_SINGLE=false``), same users, same Redis, alternating rounds, so the
machine's load hits both alike.

Writes ``--users`` sample users (:func:`bench.lookup_sample.write_sample_states`; tiles only, as
the job writes by default, unless ``--premerged``), then per round and variant starts the
service as :mod:`bench.lookups` does (``--workers`` workers, a teams file, an API key on every
request, access log on) and measures, with :mod:`bench.lookup_load` in its own process:

- ``closed``: ``--closed-requests`` requests one at a time: latency, and the service's CPU per
  request (utime + stime of the service and its worker processes, ``/proc/<pid>/stat``);
- ``open``: ``--rate`` requests/s open loop for ``--seconds`` (latency from when each was due).

Prints one JSON object per round and variant::

    .venv/bin/python -m bench.service_route_ab [--users 1000] [--rounds 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bench import REPO_ROOT
from bench.lookup_sample import write_sample_states
from bench.lookups import _free_port, _load, _start_service, _teams_file, settings_env
from userpulse.settings import Settings

VARIANTS = {"fast": {}, "fastapi": {"USERPULSE_SERVICE_FAST_SINGLE": "false"}}


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (utime + stime) of ``pid`` and its descendants now (the uvicorn parent and
    its workers); processes that end meanwhile are skipped."""
    ticks = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            for tid in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{tid}/children").read_text().split()]
        except OSError:
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def run(
    settings: Settings,
    users: list[str],
    rounds: int = 2,
    seconds: float = 10.0,
    rate_per_s: float = 2_000.0,
    workers: int = 2,
    closed_requests: int = 10_000,
) -> list[dict[str, Any]]:
    """Measure (see the module doc) against ``settings``' Redis; one dict per round and
    variant (``fast`` / ``fastapi``)."""
    env = settings_env(settings)
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="userpulse-bench-") as tmp:
        teams, key = _teams_file(Path(tmp))
        env = {**env, "USERPULSE_SERVICE_WORKERS": str(workers),
               "USERPULSE_SERVICE_TEAMS_FILE": str(teams)}  # fmt: skip
        log = REPO_ROOT / "bench" / "out" / "service-route-ab.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        names = list(VARIANTS)
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                port = _free_port()
                svc = _start_service({**env, **VARIANTS[name]}, port, log)
                auth = {"Authorization": f"Bearer {key}"}
                job = {"kind": "http", "users": users, "batch": 1, "port": port,
                       "connections": 16, "headers": auth}  # fmt: skip
                try:
                    _load(env, {**job, "mode": "closed", "rate_per_s": 1, "requests": 500,
                                "max_wall_s": seconds})  # fmt: skip  # warm-up
                    cpu0 = tree_cpu_s(svc.pid)
                    closed = _load(env, {**job, "mode": "closed", "rate_per_s": 1,
                                         "requests": closed_requests,
                                         "max_wall_s": seconds})  # fmt: skip
                    cpu = tree_cpu_s(svc.pid) - cpu0
                    closed["service_cpu_ms_per_request"] = round(cpu * 1000 / closed["requests"], 3)
                    opened = _load(env, {**job, "mode": "open", "rate_per_s": rate_per_s,
                                         "requests": int(rate_per_s * seconds),
                                         "max_wall_s": 2 * seconds})  # fmt: skip
                finally:
                    svc.terminate()
                    svc.wait(10)
                out.append({"round": r + 1, "variant": name, "closed": closed, "open": opened,
                            "load_avg_1m": round(os.getloadavg()[0], 2)})  # fmt: skip
                print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    """``python -m bench.service_route_ab``: write sample users to the local stack's Redis,
    run, print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000, help="users to write and look up")
    ap.add_argument("--rounds", type=int, default=2, help="rounds (each runs both variants)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of the open loop")
    ap.add_argument("--rate", type=float, default=2_000.0, help="open-loop requests/s")
    ap.add_argument("--closed-requests", type=int, default=10_000, help="closed-loop requests")
    ap.add_argument("--workers", type=int, default=2, help="service worker processes")
    ap.add_argument("--premerged", action="store_true", help="write pre-merged fields too")
    args = ap.parse_args()
    settings = Settings()
    states, _ = write_sample_states(settings, args.users, premerged=args.premerged)
    users = [s.user_id for s in states]
    run(settings, users, args.rounds, args.seconds, args.rate, args.workers, args.closed_requests)


if __name__ == "__main__":
    main()
