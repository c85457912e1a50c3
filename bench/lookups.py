"""Lookup latency benchmark (design section 9, issue 5): client and HTTP, against redis-benchmark.

:func:`run` measures p50 / p99 (ms) of

- ``client_single``: ``FeatureClient.get`` of one user (every feature), open loop at
  ``rate_per_s`` (default 2,000/s) from a separate process (:mod:`bench.lookup_load`);
- ``client_batch100``: ``FeatureClient.get_many`` of 100 users at ``batch_rate_per_s``;
- ``http_single`` / ``http_batch100``: the same over HTTP against the service started here
  (``service_workers`` uvicorn processes, a teams file and an API key on every request, access log
  on), from a separate load process (:mod:`bench.lookup_load`);
- ``sweeps``: open-loop p50 / p99 against offered load for the client and the service, plotted
  to ``bench/out/lookups_latency.png`` (git-ignored; the checked-in ``bench/lookups_latency.png``
  is the figure of the run ``docs/lookup.md`` documents);
- ``redis_benchmark_get``: ``redis-benchmark -t get -c 1`` on the same Redis (one connection,
  closed loop): the floor of one round trip.

Open loop: request i is due at ``start + i / rate``; its latency runs from when it was due, so a
stall shows up in the percentiles instead of slowing the load down. Lookups use the read-only
lookup ACL user; redis-benchmark runs as a temporary ACL user limited to its own ``key:*`` keys,
deleted afterwards. Settings reach the subprocesses through ``USERPULSE_*`` environment variables
(passwords too), never their command lines.

    .venv/bin/userpulse up && .venv/bin/python -m bench.lookups [--duration 10] [--users 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench import REPO_ROOT
from bench.lookup_breakdown import breakdown
from bench.lookup_sample import write_sample_states
from bench.premerge_refresh import Refresher, premerged_bytes
from userpulse import redis_conn
from userpulse.settings import Settings

TARGETS_P99_MS = {"client_single": 1.0, "client_batch100": 10.0, "http_single": 5.0}
BATCH = 100


def settings_env(settings: Settings) -> dict[str, str]:
    """The process environment that rebuilds ``settings`` in a child: the parent's environment
    without its ``USERPULSE_*`` variables, plus ``USERPULSE_<NAME>`` for every setting that is not
    None (passwords included: environment, never argv) and no settings file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("USERPULSE_")}
    env["USERPULSE_SETTINGS_FILE"] = os.devnull
    for name in Settings.model_fields:
        v = getattr(settings, name)
        if v is None:
            continue
        if isinstance(v, SecretStr):
            v = v.get_secret_value()
        env[f"USERPULSE_{name.upper()}"] = str(v).lower() if isinstance(v, bool) else str(v)
    return env


# ---- orchestration -----------------------------------------------------------------------------


def _load(env: dict[str, str], job: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario in a separate process; its JSON result."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.lookup_load"],
        input=json.dumps(job),
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load process failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    result.update(rate_per_s=job["rate_per_s"], users_per_request=job["batch"])
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_service(
    env: dict[str, str], port: int, log: Path, python_args: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """The service (its access log and errors into ``log``), once it answers ``/readyz``;
    ``python_args`` replace ``-m userpulse.lookup.service`` (a variant:
    :mod:`bench.service_gc_ab`)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, *(python_args or ("-m", "userpulse.lookup.service"))],
            env={**env, "USERPULSE_SERVICE_PORT": str(port)},
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"lookup service did not become ready: {log.read_text()[-2000:]}")


def _teams_file(folder: Path) -> tuple[Path, str]:
    """A teams file with one team (every feature, batch, no quota) and that team's API key:
    the service is measured with authentication on, as it is deployed."""
    from userpulse.lookup.service.teams import new_key

    key, digest = new_key()
    doc = {"teams": {"bench": {"api_key_sha256": [digest], "features": ["*"], "batch": True}}}
    path = folder / "teams.json"
    path.write_text(json.dumps(doc))
    return path, key


def redis_benchmark_get(settings: Settings, requests: int = 20_000) -> dict[str, Any]:
    """``redis-benchmark -t get -c 1 --csv`` on the settings' Redis: p50 / p99 ms and ops/s.

    Runs as a temporary ACL user (GET/SET on ``key:*`` only, random password) that is deleted
    afterwards; its password is on redis-benchmark's command line, which has no other way.
    """
    exe = shutil.which("redis-benchmark")
    if exe is None:
        return {"error": "redis-benchmark not found (Debian: apt-get install redis-tools)"}
    admin = redis_conn.connect(settings, "admin")
    user, pw = f"userpulse-bench-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    admin.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{pw}"],
        keys=["key:*"],
        commands=["+get", "+set", "+ping", "+config|get", "+auth", "+hello"],
    )
    try:
        argv = [exe, "-h", settings.redis_host, "-p", str(settings.redis_port)]
        argv += ["--user", user, "-a", pw, "-t", "get", "-c", "1", "-n", str(requests), "--csv"]
        if settings.redis_tls:
            argv += ["--tls", "--cacert", str(settings.redis_tls_ca_file)]
            if settings.redis_tls_cert_file:
                argv += ["--cert", str(settings.redis_tls_cert_file)]
                argv += ["--key", str(settings.redis_tls_key_file)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    finally:
        admin.acl_deluser(user)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith('"')]
    if done.returncode != 0 or len(lines) < 2:
        return {"error": f"redis-benchmark failed: {done.stderr.strip()[-500:]}"}
    row = dict(zip(json.loads(f"[{lines[0]}]"), json.loads(f"[{lines[1]}]"), strict=False))
    return {
        "requests": requests,
        "clients": 1,
        "ops_per_s": float(row["rps"]),
        "p50_ms": float(row["p50_latency_ms"]),
        "p99_ms": float(row["p99_latency_ms"]),
        "max_ms": float(row["max_latency_ms"]),
    }


SWEEP_SINGLE_PER_S = (250, 500, 1_000, 2_000, 3_000)
SWEEP_BATCH_PER_S = (10, 25, 50, 75)


def run(
    settings: Settings,
    users: Sequence[str],
    duration_s: float = 10.0,
    rate_per_s: float = 2_000.0,
    batch_rate_per_s: float = 50.0,
    service_workers: int = 2,
    sweep_s: float = 3.0,
    plot_path: Path | None = REPO_ROOT / "bench" / "out" / "lookups_latency.png",
) -> dict[str, Any]:
    """Measure the lookup scenarios (see module doc) against ``settings``' Redis.

    Args:
        settings: Redis (lookup / admin users, TLS) the features were written to.
        users: user ids that have features (at least 100).
        duration_s: seconds per scenario.
        rate_per_s: request rate of the single-user scenarios.
        batch_rate_per_s: request rate of the 100-user scenarios.
        service_workers: uvicorn worker processes of the HTTP service (measured with a teams
            file and an API key on every request, access log on).
        sweep_s: seconds per offered load of the latency-vs-load sweep (0: no sweep).
        plot_path: where the sweep's PNG goes (None: no plot).

    Returns:
        JSON-able dict: scenario -> open-loop figures at the rate {requests, errors,
        achieved_rate_per_s, p50_ms, p99_ms, max_ms, rate_per_s, users_per_request, saturated}
        with ``closed_loop`` (one request at a time: the latency of one lookup, same keys);
        plus ``sweeps`` (scenario -> open-loop figures per offered load), ``redis_benchmark_get``,
        ``breakdown_single``, ``targets_p99_ms``, ``meets_targets`` (open loop) and the machine
        (cpus, 1-minute load average).

    Raises:
        ValueError: fewer than 100 users.
        RuntimeError: the service or a load process failed.
    """
    import tempfile

    users = list(users)
    if len(users) < BATCH:
        raise ValueError(f"need at least {BATCH} users with features, got {len(users)}")
    env = settings_env(settings)
    out: dict[str, Any] = {"started_at_ms": int(time.time() * 1000)}
    shapes = {
        "single": {"users": users, "batch": 1, "rate_per_s": rate_per_s},
        "batch100": {"users": users, "batch": BATCH, "rate_per_s": batch_rate_per_s},
    }

    def open_loop(job: dict[str, Any], rate: float, seconds: float) -> dict[str, Any]:
        res = _load(
            env,
            {
                **job,
                "rate_per_s": rate,
                "mode": "open",
                "requests": max(1, int(rate * seconds)),
                "max_wall_s": 2 * seconds,
            },
        )
        res["saturated"] = (res["achieved_rate_per_s"] or 0) < 0.95 * rate
        return res

    def scenario(kind: str, shape: str, **extra: Any) -> dict[str, Any]:
        job = {"kind": kind, **shapes[shape], **extra}
        rate = job["rate_per_s"]
        res = open_loop(job, rate, duration_s)
        closed_n = max(50, int(rate * duration_s / 10))
        res["closed_loop"] = _load(
            env, {**job, "mode": "closed", "requests": closed_n, "max_wall_s": duration_s}
        )
        return res

    def sweep(kind: str, shape: str, rates: Sequence[int], **extra: Any) -> list[dict[str, Any]]:
        job = {"kind": kind, **shapes[shape], **extra}
        return [open_loop(job, r, sweep_s) for r in rates] if sweep_s > 0 else []

    sweeps: dict[str, list[dict[str, Any]]] = {}
    out["client_single"] = scenario("client", "single")
    out["client_batch100"] = scenario("client", "batch100")
    sweeps["client_single"] = sweep("client", "single", SWEEP_SINGLE_PER_S)
    sweeps["client_batch100"] = sweep("client", "batch100", SWEEP_BATCH_PER_S)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="userpulse-bench-") as tmp:
        teams, key = _teams_file(Path(tmp))
        env_svc = {
            **env,
            "USERPULSE_SERVICE_WORKERS": str(service_workers),
            "USERPULSE_SERVICE_TEAMS_FILE": str(teams),
        }
        log = REPO_ROOT / "bench" / "out" / "lookup-service.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        service = _start_service(env_svc, port, log)
        try:
            http = {"port": port, "connections": 16, "headers": {"Authorization": f"Bearer {key}"}}
            out["http_single"] = scenario("http", "single", **http)
            out["http_batch100"] = scenario("http", "batch100", **http)
            sweeps["http_single"] = sweep("http", "single", SWEEP_SINGLE_PER_S, **http)
            sweeps["http_batch100"] = sweep("http", "batch100", SWEEP_BATCH_PER_S, **http)
        finally:
            service.terminate()
            service.wait(10)
    out["service"] = {"workers": service_workers, "auth": "api key (teams file)", "log": str(log)}
    out["sweeps"] = sweeps
    out["redis_benchmark_get"] = redis_benchmark_get(settings)
    out["breakdown_single"] = breakdown(settings, users, BATCH)
    out["targets_p99_ms"] = TARGETS_P99_MS
    out["meets_targets"] = {
        k: out[k]["p99_ms"] is not None and out[k]["p99_ms"] <= v for k, v in TARGETS_P99_MS.items()
    }
    out["machine"] = {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}
    if plot_path is not None and sweep_s > 0:
        from bench.lookup_plot import plot_latency

        note = (
            f"bench.lookups, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"{os.cpu_count()} cpus, 1-min load average {out['machine']['load_avg_1m']}"
        )
        out["plot"] = str(plot_latency(sweeps, TARGETS_P99_MS, plot_path, note))
    return out


def main() -> None:
    """``python -m bench.lookups``: write sample users to the local stack's Redis, run, print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000, help="users to write and look up")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    ap.add_argument("--rate", type=float, default=2_000.0, help="single-user requests/s")
    ap.add_argument("--workers", type=int, default=2, help="HTTP service worker processes")
    ap.add_argument("--sweep", type=float, default=3.0, help="seconds per sweep point (0: none)")
    ap.add_argument(
        "--no-refresh",
        dest="refresh",
        action="store_false",
        help="no refresh of the pre-merged fields as the job timer would (bench.premerge_refresh)",
    )
    ap.add_argument(
        "--no-premerged",
        dest="premerged",
        action="store_false",
        help="write tiles only, as the job by default (premerge_refresh_ms 0): every lookup "
        "merges tiles; implies --no-refresh",
    )
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "out" / "lookups.json")
    args = ap.parse_args()
    settings = Settings()
    try:
        redis_conn.connect(settings, "admin", timeout_s=2).ping()
    except Exception as e:
        sys.exit(f"Redis at {settings.redis_host}:{settings.redis_port}: {e}; run `userpulse up`")
    states, as_of = write_sample_states(settings, args.users, premerged=args.premerged)
    refresh_on = args.refresh and args.premerged
    refresher = Refresher(settings, states, as_of).start() if refresh_on else None
    try:
        result = run(
            settings,
            [s.user_id for s in states],
            duration_s=args.duration,
            rate_per_s=args.rate,
            service_workers=args.workers,
            sweep_s=args.sweep,
        )
    finally:
        refresh = refresher.stop() if refresher else None
    result["premerged_refresh"] = refresh
    result["premerged"] = args.premerged
    if args.premerged:
        result["premerged_bytes_per_user"] = premerged_bytes(states, as_of)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
