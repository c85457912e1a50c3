"""Where every record ends, on synthetic traffic with injected late and malformed records.

Starts the local stack, runs the feature job unbounded on a fresh topic with its Prometheus
endpoint on, drives `userpulse produce synthetic` with --late and --malformed fractions, waits
until the job has judged every record, and prints the producer's and the job's counters:
counted + late + dead-lettered (+ tombstones) must equal the records the job read, and that the
records the producer delivered.

    .venv/bin/python bench/counters_run.py --rate 1000 --duration 30 --late 0.02 --malformed 0.01
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

from userpulse import stack
from userpulse.settings import Settings


def scrape(port: int) -> dict[str, float]:
    """Counter totals (labels summed, and per label value as name{labels}) of a /metrics page."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for line in text.decode().splitlines():
        if line.startswith("#") or "_total" not in line:
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
        base = name.split("{", 1)[0]
        if base != name:
            out[base] = out.get(base, 0.0) + float(value)
    return out


def main() -> None:
    """Parse flags, run, print a JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--late", type=float, default=0.02)
    ap.add_argument("--malformed", type=float, default=0.01)
    ap.add_argument("--users", type=int, default=2000)
    a = ap.parse_args()
    s = Settings()
    stack.up(s)
    name = f"counters.{uuid.uuid4().hex[:8]}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "USERPULSE_TOPIC": name,
        "USERPULSE_DEAD_LETTER_TOPIC": name + ".dlq",
        "USERPULSE_LATE_TOPIC": name + ".late",
        "USERPULSE_JOB_METRICS_PORT": str(port),
    }
    for t, p in ((name, 3), (name + ".dlq", 1), (name + ".late", 1)):
        stack.recreate_topic(s, t, p)
    job = subprocess.Popen(
        [sys.executable, "-m", "userpulse", "job", "run", "--group-id", "g." + name],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not scrape(port):
            time.sleep(0.5)  # the job's workers are up
        prod = subprocess.run(
            [sys.executable, "-m", "userpulse", "produce", "synthetic", "--quiet"]
            + ["--rate", str(a.rate), "--duration", str(a.duration), "--users", str(a.users)]
            + ["--late", str(a.late), "--malformed", str(a.malformed), "--summary-json", "-"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        produced = json.loads(prod.stdout[prod.stdout.index("{") :])
        delivered = int(produced.get("delivered", 0))
        m: dict[str, float] = {}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            m = scrape(port)
            ends = sum(
                m.get(k, 0)
                for k in (
                    "userpulse_events_counted_total",
                    "userpulse_events_late_total",
                    "userpulse_events_dead_lettered_total",
                    "userpulse_tombstones_skipped_total",
                )
            )
            if m.get("userpulse_events_in_total", 0) >= delivered and ends >= delivered:
                break
            time.sleep(1)
    finally:
        job.terminate()
        job.wait(30)
        stack.delete_topics(s, [name, name + ".dlq", name + ".late"])
    summary = {
        "producer": produced,
        "job": {k: v for k, v in m.items() if k.startswith("userpulse_")},
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
