"""Interleaved A/B of the HTTP service's tail: each worker's start-up heap frozen out of the
cyclic collector (:func:`userpulse.lookup.service.app.freeze_startup_heap`, the default) against
not frozen, same users, same Redis, alternating rounds, so the machine's load hits both alike.

Writes ``--users`` sample users (:func:`bench.lookup_sample.write_sample_states`; tiles only, as
the job writes by default, unless ``--premerged``), then per round and variant starts the service
(one worker, a teams file and an API key on every request, access log on: as deployed) and sends
100-user batches of every feature, one at a time (closed loop), for ``--seconds``. Prints p50 /
p99 / max in ms per round as JSON::

    .venv/bin/python -m bench.service_gc_ab [--users 1000] [--rounds 2] [--seconds 10]

The "not frozen" variant is the same service with ``freeze_startup_heap`` replaced by a no-op
before it starts (a benchmark-only switch; the service has no setting for it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import REPO_ROOT
from bench.lookup_sample import write_sample_states
from bench.lookups import _free_port, _start_service, _teams_file, settings_env
from userpulse.settings import Settings

BATCH = 100
_NOT_FROZEN = (
    "-c",
    "import runpy, userpulse.lookup.service.app as a; a.freeze_startup_heap = lambda: 0; "
    "runpy.run_module('userpulse.lookup.service', run_name='__main__')",
)


def _closed_loop(port: int, key: str, users: list[str], seconds: float) -> dict[str, Any]:
    """100-user batches one at a time for ``seconds`` after 20 warm-up requests: latency
    percentiles (ms), request count and response size (bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    rnd = random.Random(1)
    head = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    lat: list[float] = []
    size = 0
    for i in range(20 + 1_000_000):
        body = json.dumps({"user_ids": rnd.sample(users, BATCH)})
        t0 = time.perf_counter()
        conn.request("POST", "/v1/features/batch", body, head)
        resp = conn.getresponse()
        size = len(resp.read())
        if resp.status != 200:
            raise RuntimeError(f"the service answered {resp.status}")
        if i == 19:
            end = time.perf_counter() + seconds
        elif i > 19:
            lat.append((time.perf_counter() - t0) * 1000)
            if time.perf_counter() > end:
                break
    conn.close()
    lat.sort()
    n = len(lat)
    return {
        "requests": n,
        "response_bytes": size,
        "p50_ms": round(lat[n // 2], 2),
        "p99_ms": round(lat[min(n - 1, int(0.99 * n))], 2),
        "max_ms": round(lat[-1], 2),
    }


def run(
    settings: Settings, users: list[str], rounds: int = 2, seconds: float = 10.0
) -> list[dict[str, Any]]:
    """Measure (see the module doc) against ``settings``' Redis; one dict per round and variant
    (``frozen``: True = the default service)."""
    env = settings_env(settings)
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="userpulse-bench-") as tmp:
        teams, key = _teams_file(Path(tmp))
        env = {**env, "USERPULSE_SERVICE_WORKERS": "1", "USERPULSE_SERVICE_TEAMS_FILE": str(teams)}
        log = REPO_ROOT / "bench" / "out" / "service-gc-ab.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        for r in range(rounds):
            for frozen in (False, True) if r % 2 == 0 else (True, False):
                port = _free_port()
                svc = _start_service(env, port, log, () if frozen else _NOT_FROZEN)
                try:
                    res = _closed_loop(port, key, users, seconds)
                finally:
                    svc.terminate()
                    svc.wait(10)
                out.append({"round": r + 1, "frozen": frozen, **res})
    return out


def main() -> None:
    """``python -m bench.service_gc_ab``: write sample users to the local stack's Redis, run,
    print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000, help="users to write and look up")
    ap.add_argument("--rounds", type=int, default=2, help="rounds (each runs both variants)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds per variant and round")
    ap.add_argument("--premerged", action="store_true", help="write pre-merged fields too")
    args = ap.parse_args()
    settings = Settings()
    states, _ = write_sample_states(settings, args.users, premerged=args.premerged)
    print(json.dumps(run(settings, [s.user_id for s in states], args.rounds, args.seconds)))


if __name__ == "__main__":
    main()
