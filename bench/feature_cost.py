"""What a code change costs in job throughput: this tree vs a base commit, side by side.

Produces N synthetic events once into a fresh topic (local stack: `userpulse up`), starts a
private redis-server without ACL on a free port (so both trees can write), then runs the job
bounded over the same topic from each tree, alternating, ``--rounds`` times, each in its own
process with its own consumer group; reports events/s after subtracting the start-up time of an
empty run of the same tree. Usage:

    .venv/bin/python bench/feature_cost.py --base e9ef932 --events 60000 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import REPO_ROOT
from userpulse import stack
from userpulse.producers.kafka_out import EventSink
from userpulse.producers.synthetic import SyntheticTraffic
from userpulse.settings import Settings

LIB = REPO_ROOT / "infra" / "lib"  # the jars are not in git: both trees use this tree's


def _run(tree: Path, home: Path, topic: str, redis_port: int, kafka_port: int) -> float:
    group = f"g-{tree.name}-{time.time()}"
    code = (
        "from userpulse.jobs.runner import run_job; from userpulse.settings import Settings; "
        f"run_job(Settings(home='{home}', topic='{topic}', group_id='{group}', "
        f"redis_port={redis_port}, kafka_port={kafka_port}, infra_lib='{LIB}', "
        f"dead_letter_topic='{topic}.dlq', late_topic='{topic}.late'), bounded=True)"
    )
    t0 = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith("USERPULSE_")}
    p = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tree,
        env={**env, "PYTHONPATH": str(tree)},
    )
    if p.returncode:
        raise SystemExit(f"job from {tree} failed:\n{p.stderr[-3000:]}")
    return time.monotonic() - t0


def main() -> None:
    """Parse flags, run, print per-tree events/s and the ratio as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="git commit to compare against")
    ap.add_argument("--events", type=int, default=60_000)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    s = Settings()
    stack.up(s)
    tmp = Path(tempfile.mkdtemp(prefix="feature-cost-"))
    base_tree = tmp / "base"
    subprocess.run(
        ["git", "worktree", "add", "-f", str(base_tree), a.base], check=True, cwd=REPO_ROOT
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    full, empty = "bench.cost.full", "bench.cost.empty"
    try:
        for t in (full, empty, full + ".dlq", full + ".late", empty + ".dlq", empty + ".late"):
            stack.recreate_topic(s, t, 1)
        gen = SyntheticTraffic(seed=7, users=a.users, start_time_ms=int(time.time() * 1000))
        with EventSink(s.kafka_bootstrap, full) as sink:
            for e in gen.events(rate_per_s=5_000, count=a.events):
                sink.send(e)
            sink.flush(60)
        trees = {"base": base_tree, "this": REPO_ROOT}
        out: dict[str, list[float]] = {k: [] for k in trees}
        for _ in range(a.rounds):
            for name, tree in trees.items():
                home = tmp / f"home-{name}"
                home.mkdir(exist_ok=True)
                base_s = _run(tree, home, empty, port, s.kafka_port)
                total = _run(tree, home, full, port, s.kafka_port)
                out[name].append(round(a.events / max(total - base_s, 1e-3)))
                print(name, out[name][-1], "events/s", flush=True)
        best = {k: max(v) for k, v in out.items()}
        print(
            json.dumps(
                {
                    "events": a.events,
                    "runs": out,
                    "this_over_base": round(best["this"] / best["base"], 2),
                }
            )
        )
    finally:
        redis.terminate()
        subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=REPO_ROOT)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
