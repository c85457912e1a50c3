"""Thread vs process Python execution mode on the feature job (keyed state + Redis writes).

Produces N synthetic events once into a fresh topic, then runs the job bounded over it in each
mode, in separate processes, side by side; reports events/s after subtracting the start-up time
of an empty run in the same mode. Usage (stack up first: `userpulse up`):

    .venv/bin/python bench/execution_mode.py --events 60000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from producers.kafka_out import EventSink
from producers.synthetic import SyntheticTraffic
from userpulse import stack
from userpulse.settings import Settings


def _run(mode: str, topic: str, group: str) -> float:
    code = (
        "from jobs.runner import run_job; from userpulse.settings import Settings; "
        f"run_job(Settings(topic='{topic}', group_id='{group}', python_execution_mode='{mode}', "
        f"dead_letter_topic='{topic}.dlq', late_topic='{topic}.late'), bounded=True)"
    )
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=60_000)
    ap.add_argument("--users", type=int, default=10_000)
    args = ap.parse_args()
    s = Settings()
    full, empty = "bench.mode.full", "bench.mode.empty"
    for t in (full, empty, full + ".dlq", full + ".late", empty + ".dlq", empty + ".late"):
        stack.recreate_topic(s, t, 1)
    gen = SyntheticTraffic(seed=7, users=args.users, start_time_ms=int(time.time() * 1000))
    with EventSink(s.kafka_bootstrap, full) as sink:
        for e in gen.events(rate_per_s=5_000, count=args.events):
            sink.send(e)
        sink.flush(60)
    out = {}
    for mode in ("thread", "process"):
        base = _run(mode, empty, f"g-empty-{mode}-{time.time()}")
        total = _run(mode, full, f"g-full-{mode}-{time.time()}")
        out[mode] = {
            "startup_s": round(base, 1),
            "run_s": round(total, 1),
            "events_per_s": round(args.events / max(total - base, 1e-3)),
        }
        print(mode, out[mode], flush=True)
    print(
        json.dumps(
            {
                "events": args.events,
                **out,
                "thread_over_process": round(
                    out["thread"]["events_per_s"] / out["process"]["events_per_s"], 1
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
