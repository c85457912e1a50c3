"""Sustained throughput and event-to-Redis freshness of the running job (first measurement).

For each target rate: start `userpulse job run` (unbounded, local execution) on a fresh topic with
worker metrics on, drive synthetic traffic at that rate for --duration seconds, and sample the
consumer lag as produced - counted (the job's `userpulse_events_counted_total`) once a second.
The job keeps up at a rate when the lag at the end is no larger than in the first half.
With --probe-rate, also measures freshness: probe CLICKs (event_time = now, own users) are sent
while the load runs; each is timed until its `last_seen` is readable in Redis.

    .venv/bin/python bench/sustained.py --rates 1000,2000,3000 --duration 60
    .venv/bin/python bench/sustained.py --rates 1000 --duration 60 --probe-rate 20
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from userpulse import layout, redis_conn, stack
from userpulse.events import Event, EventType
from userpulse.producers.kafka_out import EventSink
from userpulse.producers.synthetic import run_synthetic
from userpulse.settings import Settings

METRICS_PORT = 9464


def counted() -> float:
    """userpulse_events_counted_total scraped from the job workers (-1 when not up yet)."""
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=1).read()
    except OSError:
        return -1
    for line in body.decode().splitlines():
        if line.startswith("userpulse_events_counted_total "):
            return float(line.split()[1])
    return 0


def probe(s: Settings, stop: threading.Event, rate: float, out: list[float]) -> None:
    """Send probe clicks and time them until readable in Redis (ms)."""
    r = redis_conn.connect(s, "lookup")  # read-only ACL user (HGET on the feature prefix)
    with EventSink(s.kafka_bootstrap, s.topic, **{"linger.ms": 0}) as sink:
        i = 0
        while not stop.is_set():
            user = f"probe-{i % 50}"
            t_ms = int(time.time() * 1000)
            sink.send(Event(f"p{i}", EventType.CLICK, user, t_ms, "probe"))
            sink.poll(0)
            key = layout.user_key(user)
            while not stop.is_set():
                v = r.hget(key, layout.META_LAST_SEEN)
                if v is not None and int(v) >= t_ms:
                    out.append(time.time() * 1000 - t_ms)
                    break
                time.sleep(0.0002)
            i += 1
            time.sleep(1 / rate)


def one_rate(rate: float, duration: float, probe_rate: float) -> dict[str, object]:
    base = Settings()
    topic = f"bench.sustained.{int(time.time())}"
    s = base.model_copy(update={"topic": topic, "group_id": "g." + topic})
    stack.recreate_topic(s, topic, 1)
    stack.ensure_topics(s, {s.dead_letter_topic: 1, s.late_topic: 1})
    env = {**os.environ, "USERPULSE_JOB_METRICS_PORT": str(METRICS_PORT)}
    job = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "userpulse",
            "job",
            "run",
            "--topic",
            topic,
            "--group-id",
            s.group_id,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with EventSink(s.kafka_bootstrap, topic) as warm:  # first record starts the pipeline
            warm.send(Event("w", EventType.CLICK, "warmup", int(time.time() * 1000), "w"))
        deadline = time.monotonic() + 120
        while counted() < 1 and time.monotonic() < deadline:
            time.sleep(0.5)
        samples: list[tuple[float, float]] = []
        stop = threading.Event()
        lat: list[float] = []

        def sampler() -> None:
            t0 = time.monotonic()
            while not stop.is_set():
                samples.append((time.monotonic() - t0, counted()))
                time.sleep(1)

        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        pth = None
        if probe_rate > 0:
            pth = threading.Thread(target=probe, args=(s, stop, probe_rate, lat), daemon=True)
            pth.start()
        with EventSink(s.kafka_bootstrap, topic) as sink:
            summ = run_synthetic(sink, rate, duration, users=10_000, seed=3, progress=False)
        time.sleep(2)
        stop.set()
        th.join()
        if pth:
            pth.join(timeout=5)
        t_end = samples[-1][0]

        # lag in the first and the second half, against the paced target
        def lag_at(t: float, c: float) -> float:
            return min(t, duration) * rate - (c - 1)

        half = [lag_at(t, c) for t, c in samples if 0 < t <= duration / 2]
        last = [lag_at(t, c) for t, c in samples if duration / 2 < t <= duration]
        res: dict[str, object] = {
            "rate": rate,
            "delivered": summ.delivered,
            "achieved_rate": round(summ.achieved_rate_per_s, 1),
            "counted_end": samples[-1][1] - 1,
            "t_end_s": round(t_end, 1),
            "max_lag_first_half": max(half, default=0),
            "max_lag_second_half": max(last, default=0),
        }
        res["keeps_up"] = max(last, default=0) <= max(max(half, default=0), rate * 0.5)
        if lat:
            q = statistics.quantiles(lat, n=100)
            res["freshness_ms"] = {
                "n": len(lat),
                "p50": round(statistics.median(lat), 1),
                "p99": round(q[98], 1),
            }
        return res
    finally:
        job.terminate()
        job.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="1000,2000")
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--probe-rate", type=float, default=0)
    a = ap.parse_args()
    for rate in (float(x) for x in a.rates.split(",")):
        print(json.dumps(one_rate(rate, a.duration, a.probe_rate)), flush=True)


if __name__ == "__main__":
    main()
