"""Freshness of the feature job on the session cluster at one fixed load, for tuning runs.

Submits the job (parallelism ``-p``) on a fresh topic, drives ``--rate`` events/s of synthetic
load for ``--duration`` s with probes (bench/freshness.py), prints the stats as JSON, cancels the
job. Needs the stack and session cluster up (``userpulse up``, ``userpulse cluster up``)::

    .venv/bin/python -m bench.fresh_probe --rate 4000 --duration 20
"""

from __future__ import annotations

import argparse
import json
import time

from bench.freshness import run_freshness
from bench.systems import ClusterJob, free_port_span
from userpulse import redis_conn, stack
from userpulse.settings import Settings


def main() -> None:
    """Parse the flags, run one freshness measurement, print it."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-p", "--parallelism", type=int, default=1)
    ap.add_argument("--rate", type=float, default=4000.0, help="load, events/s")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    ap.add_argument("--probe-rate", type=float, default=20.0, help="probes per second")
    ap.add_argument("--users", type=int, default=10_000)
    a = ap.parse_args()
    settings = Settings()
    topic = f"bench.fresh.{int(time.time())}"
    stack.recreate_topic(settings, topic, 3)
    ports = settings.flink_taskmanagers
    job = ClusterJob(
        "userpulse-p",
        settings,
        topic,
        a.parallelism,
        free_port_span(ports),
        ports,
        settings.home / "bench" / "logs" / "fresh_probe.log",
    )
    job.start()
    try:
        time.sleep(3)
        conn = redis_conn.connect(settings, "lookup")
        fr = run_freshness(
            job, settings.kafka_bootstrap, topic, conn, a.rate, a.duration, a.probe_rate, a.users
        )
        print(json.dumps({"rate": a.rate, "freshness": fr.stats(), "counted": job.counted()}))
    finally:
        job.stop()


if __name__ == "__main__":
    main()
