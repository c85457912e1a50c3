"""``make bench``: ceiling, sustained throughput and freshness of userpulse and of a peer, lookups.

Runs against the local stack already started by ``userpulse up`` (``make bench`` does that), on
fresh topics named ``bench.<what>.<unix time>``, one system at a time:

1. ceiling: fill a topic, time a bare consumer + fastavro decode loop over it (bench/ceiling.py);
2. userpulse: on the local Flink session cluster (``userpulse cluster up``: started here when it
   is not up, and stopped again at the end), for each parallelism of ``BENCH_PARALLELISMS`` (1, 2)
   submit the job (``userpulse job submit -p N``) on its topic, search the sustained rate
   (bench/search.py), cancel it. At p = 1, right after its search, the JVM CPU per event by stage
   (bench/jvm_profile.py, Java Flight Recorder). Then freshness at 50% of the best parallelism's
   rate (bench/freshness.py): on the last job if it is the best, else on a new job of the best
   parallelism on a fresh topic;
3. peer: the same search and freshness with Quix Streams (bench/peer_quix.py, own venv);
4. state size: checkpoint size and bytes per user at 1,000,000 users (bench/state_size.py; off
   with ``--quick`` unless ``BENCH_STATE_SIZE=1``); then the session cluster stops if started here;
5. lookups: ``bench.lookups.run(settings, users)`` (issue 5's module), recorded as it answers;
6. backfill: ``bench.backfill.run`` (issue 15: Globo + a synthetic history, no services; skipped
   with ``BENCH_SKIP_BACKFILL=1``), also written to ``BENCH_OUT/backfill.json``;
7. ``report.json`` (bench/report.py) and four PNGs (bench/plots.py) in ``BENCH_OUT``; the JFR
   recordings stay in ``<home>/bench/jfr``.

Knobs: ``BENCH_*`` environment variables (bench/config.py), ``--quick`` = ``BENCH_QUICK=1``.
The bench topics, the peer's keys (``peer:*``) and the probe users' keys are removed at the end.

    .venv/bin/python -m bench.run [--quick] [--skip-peer]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import jvm_profile, report, state_size
from bench import steps as after_steps
from bench.ceiling import fill, measure
from bench.config import BenchConfig, BenchConfigError
from bench.freshness import Freshness, run_freshness
from bench.search import search, wait_drained
from bench.systems import (
    BenchError,
    ClusterJob,
    System,
    TopicSize,
    free_port_span,
    quix_peer,
    taskmanager_pids,
    userpulse_job,
)
from bench.tail import Timeline, attribute, checkpoint_history
from bench.warmup import start_warm
from userpulse import redis_conn, stack
from userpulse.settings import Settings
from userpulse.stack.flink import FlinkCluster

DRAIN_BEFORE_PROBE_S = 180.0
"""Longest wait for the backlog of the last (failed) step to drain before the freshness run."""
STACK_PROBE_ATTEMPTS = 3
"""Health checks of the local stack before the bench gives up (:func:`stack_ready`)."""
STACK_PROBE_PAUSE_S = 2.0
"""Seconds between two of them."""


def _log(msg: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


AfterSearch = Callable[[System, str, float], None]
"""Called with (system, topic, sustained rate) after the search, while the system still runs."""


def _freshness(
    system: System,
    settings: Settings,
    topic: str,
    cfg: BenchConfig,
    size: TopicSize,
    sustained: float,
) -> dict[str, Any]:
    """Freshness at half of ``sustained`` once the backlog has drained (bench/freshness.py)."""
    rate = sustained / 2
    result: dict[str, Any] = {}
    drained = wait_drained(system, size, system.base_lag, 100, DRAIN_BEFORE_PROBE_S)
    result["drain_before_freshness_s"] = round(drained, 1)
    # the lookup ACL user reads up:* keys only; the peers' keys need admin
    conn = redis_conn.connect(settings, "lookup" if system.is_userpulse else "admin")
    # what the slow probes overlapped (bench/tail.py): the TaskManagers' pauses for the job
    job_id = getattr(system, "job_id", None)
    pids = taskmanager_pids(settings) if job_id else []
    admin = redis_conn.connect(settings, "admin")
    timeline = Timeline(pids, admin, settings.home / "bench" / "logs")
    timeline.start()
    try:
        fr: Freshness = run_freshness(
            system, settings.kafka_bootstrap, topic, conn, rate, cfg.freshness_s,
            cfg.probe_rate_per_s, cfg.users,
        )  # fmt: skip
    finally:
        intervals = timeline.stop(checkpoint_history(settings, job_id).get("history", []))
    tail = attribute(fr.created_ms(), intervals)
    tail["gc_log_missing_pids"] = timeline.unlogged
    result["freshness_tail"] = tail
    _log(
        f"{system.name}: slow probes (> {tail['threshold_ms']:.0f} ms) {tail['slow']} of "
        f"{tail['probes']}, overlapping {tail['by_kind']}, none {tail['unexplained']}"
    )
    result["freshness_rate"] = round(rate, 1)
    result["freshness"] = fr.stats()
    result["freshness_samples"] = [[round(t, 3), round(v, 3)] for t, v in fr.samples]
    result["freshness_producer"] = fr.producer
    _log(f"{system.name}: freshness at {rate:,.0f}/s: {fr.stats()}")
    return result


def _fresh_users(system: System, settings: Settings) -> None:
    """Delete the keys earlier runs wrote for the synthetic users (bench.steps)."""
    deleted = after_steps.delete_synthetic_users(settings)
    _log(f"{system.name}: deleted {deleted:,} keys of earlier runs' synthetic users")


def _bench_system(
    system: System,
    settings: Settings,
    topic: str,
    cfg: BenchConfig,
    start_rate: float,
    freshness: Callable[[float], bool] = lambda _: True,
    after_search: AfterSearch | None = None,
) -> dict[str, Any]:
    """Warm up, search the sustained rate, then ``after_search``, then freshness at half the
    rate when ``freshness(sustained)``; stop the system."""
    size: TopicSize | None = None
    try:
        _fresh_users(system, settings)
        size = start_warm(system, settings, topic, cfg, start_rate / 2, _log)
        sustained, steps = search(
            system, size, topic, start_rate, cfg.growth, cfg.max_rate, cfg.step_s, cfg.users,
            log=_log,
        )  # fmt: skip
        result: dict[str, Any] = {
            "sustained_events_per_s": round(sustained, 1),
            "steps": [s.to_dict() for s in steps],
        }
        if isinstance(system, ClusterJob):
            result["parallelism"] = system.parallelism
            result["warmup_jit_cores"] = system.warmup_jit_cores
        if after_search is not None and sustained > 0:
            after_search(system, topic, sustained)
        if sustained > 0 and freshness(sustained):
            result.update(_freshness(system, settings, topic, cfg, size, sustained))
        return result
    finally:
        system.stop()
        if size is not None:
            size.close()


def _profile_hook(settings: Settings, cfg: BenchConfig, out: dict[str, Any]) -> AfterSearch:
    """JFR profile of the running job at ``min(BENCH_PROFILE_RATE, 80% of sustained)``, into
    ``out["jvm_profile"]`` (bench/jvm_profile.py)."""

    def hook(system: System, topic: str, sustained: float) -> None:
        if cfg.profile_s <= 0:
            return
        rate = min(cfg.profile_rate, 0.8 * sustained)
        size = TopicSize(settings.kafka_bootstrap, topic)
        try:
            wait_drained(system, size, system.base_lag, 100, DRAIN_BEFORE_PROBE_S)
            res = jvm_profile.profile(
                system, taskmanager_pids(settings), topic, rate, cfg.profile_s, cfg.users,
                settings.home / "bench" / "jfr",
                lag=lambda: size() - (system.counted() or 0.0) - system.base_lag,
            )  # fmt: skip
            res["system"] = system.name
            out["jvm_profile"] = res
            _log(f"{system.name}: JVM CPU per event by stage at {rate:,.0f}/s:\n"
                 + jvm_profile.table(res))  # fmt: skip
        except Exception as exc:  # recorded, not fatal to the rest of the bench
            out["jvm_profile"] = {"error": f"{type(exc).__name__}: {exc}"}
            _log(f"JVM profile failed: {exc}")
        finally:
            size.close()

    return hook


def _bench_userpulse(
    settings: Settings, cfg: BenchConfig, ts: int, topics: list[str], extra: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The job at each parallelism on the session cluster (and local execution if asked), then
    freshness for the best one (module docstring, step 2)."""
    logs = settings.home / "bench" / "logs"
    ports = settings.flink_taskmanagers
    out: dict[str, dict[str, Any]] = {}
    variants: list[tuple[str, Callable[[str], System]]] = []
    for p in sorted(cfg.parallelisms):
        variants.append((f"userpulse-p{p}", lambda t, p=p: ClusterJob(  # type: ignore[misc]
            f"userpulse-p{p}", settings, t, p, free_port_span(ports), ports,
            logs / f"userpulse-p{p}.log",
        )))  # fmt: skip
    if cfg.local_job:
        variants.insert(0, ("userpulse-local", lambda t: userpulse_job(
            settings, t, free_port_span(1), logs,
        )))  # fmt: skip
    for i, (name, make) in enumerate(variants):
        topic = f"bench.{name}.{ts}"
        topics.append(topic)
        stack.recreate_topic(settings, topic, cfg.partitions)
        last = i == len(variants) - 1

        def best_so_far(rate: float) -> bool:
            return all(rate >= (r.get("sustained_events_per_s") or 0) for r in out.values())

        try:
            out[name] = _bench_system(
                make(topic), settings, topic, cfg, cfg.job_start_rate,
                freshness=best_so_far if last else (lambda _: False),
                after_search=_profile_hook(settings, cfg, extra) if name == "userpulse-p1"
                else None,
            )  # fmt: skip
        except BenchError as exc:
            _log(f"{name} failed: {exc}")
            out[name] = {"error": str(exc)}
    rates = {n: r.get("sustained_events_per_s") or 0 for n, r in out.items()}
    # ties go to a variant already measured for freshness
    best = max(rates, key=lambda n: (rates[n], "freshness" in out[n]), default=None)
    if best is None or rates[best] <= 0 or "freshness" in out[best]:
        return out
    # the best was not the last one: a new job of it on a fresh topic, warmed up
    name = best
    topic = f"bench.{name}-freshness.{ts}"
    topics.append(topic)
    stack.recreate_topic(settings, topic, cfg.partitions)
    system = dict(variants)[name](topic)
    size: TopicSize | None = None
    try:
        _fresh_users(system, settings)
        size = start_warm(system, settings, topic, cfg, rates[name] / 2, _log)
        out[name].update(_freshness(system, settings, topic, cfg, size, rates[name]))
        out[name]["freshness_topic"] = "fresh job, same parallelism (best was not the last)"
    except BenchError as exc:
        _log(f"{name} freshness failed: {exc}")
        out[name]["freshness_error"] = str(exc)
    finally:
        system.stop()
        if size is not None:
            size.close()
    return out


def stack_ready(
    probe: Callable[[], bool],
    attempts: int = STACK_PROBE_ATTEMPTS,
    pause_s: float = STACK_PROBE_PAUSE_S,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Whether ``probe`` (one health check of the local stack, e.g. ``stack.status(s).healthy``)
    answers ``True`` within ``attempts`` tries (>= 1), ``pause_s`` seconds apart.

    One probe is not enough right after ``userpulse up`` on a loaded machine: the broker's
    metadata request (3 s timeout) has missed once (2026-12-02) although the broker was up, and
    the bench then refused to start. Raises ``ValueError`` for ``attempts`` < 1."""
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    for i in range(attempts):
        if probe():
            return True
        if i + 1 < attempts:
            sleep(pause_s)
    return False


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 = bad knob or stack down)."""
    ap = argparse.ArgumentParser(description="userpulse benchmark (docs/bench.md)")
    ap.add_argument("--quick", action="store_true", help="short steps (same as BENCH_QUICK=1)")
    ap.add_argument("--skip-peer", action="store_true", help="same as BENCH_SKIP_PEER=1")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    if args.quick:
        env["BENCH_QUICK"] = "1"
    if args.skip_peer:
        env["BENCH_SKIP_PEER"] = "1"
    try:
        cfg = BenchConfig.from_env(env)
    except BenchConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = Settings()
    if not stack_ready(lambda: stack.status(settings).healthy):
        print(
            "error: the local stack is not up; run `userpulse up` (or `make up`)", file=sys.stderr
        )
        return 2
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    logs = settings.home / "bench" / "logs"
    cluster = FlinkCluster(settings)
    started_cluster = False
    started = datetime.now(UTC)
    ts = int(time.time())
    meta: dict[str, Any] = {
        "command": "make bench" + (" (BENCH_QUICK=1)" if cfg.quick else ""),
        "started_utc": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "redis": after_steps.redis_persistence(settings),
    }
    topics: list[str] = []
    try:
        t_ceiling = f"bench.ceiling.{ts}"
        topics.append(t_ceiling)
        stack.recreate_topic(settings, t_ceiling, cfg.partitions)
        filled = fill(t_ceiling, cfg.ceiling_events, cfg.users)
        ceiling = measure(settings.kafka_bootstrap, t_ceiling, cfg.ceiling_events)
        ceiling["fill"] = {k: filled.get(k) for k in ("sent", "achieved_rate_per_s")}
        _log(f"ceiling: {ceiling['events_per_s']:,.0f} events/s")
        if not cluster.status().reachable:
            _log("starting the local Flink session cluster (userpulse cluster up)")
            started_cluster = True
            cluster.up()
        extra: dict[str, Any] = {}
        systems: dict[str, dict[str, Any]] = _bench_userpulse(settings, cfg, ts, topics, extra)
        plan: list[tuple[str, float]] = []
        if not cfg.skip_peer:
            plan += [("peer", cfg.peer_start_rate), ("peer-tiles", cfg.peer_tiles_start_rate)]
        for name, start_rate in plan:
            topic = f"bench.{name}.{ts}"
            topics.append(topic)
            stack.recreate_topic(settings, topic, cfg.partitions)
            port = _free_port()
            system = quix_peer(
                cfg.peer_python, settings, topic, port, logs,
                "sliding" if name == "peer" else "tiles",
            )  # fmt: skip
            try:
                systems[name] = _bench_system(system, settings, topic, cfg, start_rate)
            except BenchError as exc:
                _log(f"{name} failed: {exc}")
                systems[name] = {"error": str(exc)}
        if "peer" in systems:
            systems["peer"]["implementation"] = (
                "Quix Streams sliding windows 1m/5m/1h/24h, grace 10 min; bench/peer_quix.py"
            )
        if "peer-tiles" in systems:
            systems["peer-tiles"]["implementation"] = (
                "Quix Streams tumbling windows on the job's tiles 1s/5s/1min/24min (merged at "
                "lookup), grace 10 min; bench/peer_quix.py --windows tiles"
            )
        if cfg.state_size:
            extra["state_size"] = state_size.run(
                settings, cfg.state_users, ("one",) if cfg.quick else ("one", "several"), log=_log
            )
        else:
            extra["state_size"] = {"skipped": "quick run (BENCH_STATE_SIZE=1 to measure)"}
        if started_cluster:
            cluster.down()
            started_cluster = False
        looks = after_steps.lookups(settings, 5.0 if cfg.quick else 10.0)
        filled_backfill = after_steps.backfill(cfg.quick, cfg.out_dir)
        meta["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        meta["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        meta["duration_s"] = round((datetime.now(UTC) - started).total_seconds())
        rep = report.build(
            meta=meta, ceiling=ceiling, systems=systems, lookups=looks,
            jvm_profile=extra.get("jvm_profile"), state=extra.get("state_size"),
        )  # fmt: skip
        rep["backfill"] = filled_backfill
        after_steps.write_outputs(rep, systems, ceiling, extra, cfg.out_dir)
        _log(f"report: {cfg.out_dir / 'report.json'}")
        return 0
    finally:
        after_steps.cleanup(settings, topics, _log)
        if started_cluster:
            cluster.down()


if __name__ == "__main__":
    sys.exit(main())
