"""Where the job's Python time goes: py-spy on the TaskManager JVM's embedded interpreter.

In ``thread`` mode PyFlink runs every Python function inside the JVM process (pemja embeds
CPython; ``libpython3.11.so`` is mapped into ``java``). py-spy finds that interpreter when it is
pointed at the JVM's pid, and samples the Python stacks of its threads (``--nonblocking``, so the
job is not paused). This script starts ``userpulse job run`` on a fresh topic, drives synthetic
load at ``--rate`` for ``--duration`` seconds, records the JVM with py-spy in raw (collapsed)
format, and prints the share of samples per function: inclusive (on the stack) and self (top of
the stack). Only samples of the thread holding the GIL count (``--gil``): one interpreter runs
every Python function of the TaskManager, so the GIL holder is where the Python core goes. A
sample with no Python frame (shown as ``(no Python frame)``) is that thread inside pemja / JNI
between Python calls: the cost of the Java <-> Python bridge. The raw file is kept for flame
graphs.

    .venv/bin/python -m bench.profile_job --rate 3000 --duration 40 --out bench/out/job.pyspy.txt
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.run import _free_port
from bench.search import finish_producer, start_producer
from bench.systems import TopicSize, userpulse_job
from producers.kafka_out import EventSink
from userpulse import stack
from userpulse.events import Event, EventType
from userpulse.settings import REPO_ROOT, Settings


def java_child(pid: int) -> int | None:
    """Pid of the ``java`` process under ``pid`` (the PyFlink gateway / local cluster JVM)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    for child in out.split():
        cmd = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0]
        if cmd.endswith(b"java"):
            return int(child)
    return None


def summarize(raw: Path, top: int = 30) -> str:
    """Inclusive and self shares per frame of a py-spy raw (collapsed stacks) file."""
    incl: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack_text, _, n_text = line.rpartition(" ")
        n = int(n_text)
        frames = [f or "(no Python frame)" for f in stack_text.split(";")]
        total += n
        for f in set(frames):
            incl[f] += n
        self_[frames[-1]] += n
    if not total:
        return "no samples"
    lines = [f"{total} samples", "inclusive:"]
    lines += [f"  {v / total:6.1%}  {k}" for k, v in incl.most_common(top)]
    lines.append("self:")
    lines += [f"  {v / total:6.1%}  {k}" for k, v in self_.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    """Start the job, load it, record it with py-spy, print the summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rate", type=float, default=3_000)
    ap.add_argument("--duration", type=float, default=40)
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "bench/out/job.pyspy.txt")
    a = ap.parse_args()
    s = Settings()
    topic = f"bench.profile.{int(time.time())}"
    stack.recreate_topic(s, topic, 3)
    job = userpulse_job(s, topic, _free_port(), s.home / "bench" / "logs")
    job.start()
    try:
        with EventSink(s.kafka_bootstrap, topic) as sink:
            sink.send(Event("w", EventType.CLICK, "warmup", int(time.time() * 1000), "w"))
        job.wait_counted(1, 240)
        assert job.pid is not None
        jvm = None
        for _ in range(20):
            jvm = jvm or java_child(job.pid)
            time.sleep(0.5)
        if jvm is None:
            sys.exit("no java child of the job process found")
        proc, summary = start_producer(topic, a.rate, a.duration, 10_000, seed=3)
        time.sleep(min(5.0, a.duration / 4))
        a.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(jvm),
             "--nonblocking", "--gil", "--rate", "200", "--duration", str(int(a.duration * 0.6)),
             "--format", "raw", "--output", str(a.out)],
            check=True, capture_output=True,
        )  # fmt: skip
        produced = finish_producer(proc, summary)
        size = TopicSize(s.kafka_bootstrap, topic)
        print(f"producer {produced.get('achieved_rate_per_s')}/s; counted {job.counted()} "
              f"of {size()} records")  # fmt: skip
        size.close()
        print(summarize(a.out))
    finally:
        job.stop()
        stack.delete_topics(s, [topic])


if __name__ == "__main__":
    main()
