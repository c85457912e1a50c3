"""The ceiling: a bare confluent-kafka consumer + fastavro decode loop over a full topic.

``fill`` writes ``n`` synthetic events into the topic (the load producer, as fast as it goes);
``measure`` then runs, in a fresh interpreter (``python -m bench.ceiling``), the loop the job's
first stage cannot beat in Python: ``consume(1000)`` batches, skip the 10-byte single-object
header, ``fastavro.schemaless_reader`` the body. Events/s is timed from the first record to the
``n``-th. Nothing else runs in that process.

    python -m bench.ceiling --bootstrap 127.0.0.1:19092 --topic T --events 300000
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
import uuid
from typing import Any

import fastavro
from confluent_kafka import Consumer

from bench import REPO_ROOT
from bench.search import finish_producer, start_producer
from userpulse.schemas import codec


def fill(topic: str, events: int, users: int) -> dict[str, Any]:
    """Produce ``events`` synthetic events into ``topic`` as fast as the producer goes."""
    rate = 1_000_000.0
    proc, summary = start_producer(topic, rate, events / rate, users, seed=5)
    return finish_producer(proc, summary)


def consume_decode(
    bootstrap: str, topic: str, events: int, timeout_s: float = 300.0
) -> dict[str, Any]:
    """The bare loop, in this process: returns ``events``, ``seconds``, ``events_per_s``."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-ceiling-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([topic])
    parsed = codec.CURRENT.parsed
    reader = fastavro.schemaless_reader
    n = 0
    t_first = 0.0
    deadline = time.monotonic() + timeout_s
    try:
        while n < events and time.monotonic() < deadline:
            for msg in c.consume(num_messages=1000, timeout=1.0):
                value = msg.value()
                if msg.error() is not None or value is None:
                    continue
                if n == 0:
                    t_first = time.perf_counter()
                fo = io.BytesIO(value)
                fo.seek(10)
                reader(fo, parsed, None, return_record_name=True)
                n += 1
        seconds = time.perf_counter() - t_first
    finally:
        c.close()
    return {"events": n, "seconds": round(seconds, 3), "events_per_s": round(n / seconds, 1)}


def measure(bootstrap: str, topic: str, events: int) -> dict[str, Any]:
    """Run :func:`consume_decode` in a fresh interpreter and return its result.

    Raises:
        subprocess.CalledProcessError: the loop failed (its stderr is attached).
    """
    out = subprocess.run(
        [sys.executable, "-m", "bench.ceiling", "--bootstrap", bootstrap, "--topic", topic,
         "--events", str(events)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    """``python -m bench.ceiling``: print the loop's result as one JSON line."""
    ap = argparse.ArgumentParser(description="bare consumer + fastavro decode loop")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--events", type=int, required=True)
    a = ap.parse_args()
    print(json.dumps(consume_decode(a.bootstrap, a.topic, a.events)))


if __name__ == "__main__":
    main()
