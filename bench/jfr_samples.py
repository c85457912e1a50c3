"""Java Flight Recorder samples of the feature job, by stage (bench/jvm_profile.py): the JFR
settings the profile records with, each ``jdk.ExecutionSample`` attributed to one stage by its
stack (the table of prefixes is in bench/jvm_profile.py's docstring), and a ``.jfr`` file read
with the JDK's ``jfr print --json``. No process control here."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

STAGES = ("source", "decode", "fold", "sink", "other")
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("decode", ("io.userpulse.flink.decode.",)),
    # Jedis and its pool as relocated into the job's jar (jvm/pom.xml); the jar's other
    # relocated libraries (BouncyCastle's BLAKE2b of the distinct-items sketch, Avro, Jackson)
    # count as the stage whose frames call them
    (
        "sink",
        (
            "io.userpulse.flink.redis.",
            "io.userpulse.shaded.redis.clients.",
            "io.userpulse.shaded.org.apache.commons.pool2.",
            "redis.clients.",
        ),
    ),
    (
        "fold",
        (
            "io.userpulse.flink.tiles.",
            "io.userpulse.flink.profile.",
            "io.userpulse.flink.operator.",
        ),
    ),
    (
        "shuffle",
        (
            "org.apache.flink.runtime.io.network.",
            "org.apache.flink.streaming.runtime.io.RecordWriterOutput",
            "org.apache.flink.streaming.runtime.io.recovery.",
            "org.apache.flink.api.java.typeutils.runtime.",
            "org.apache.flink.api.common.typeutils.base.",
            "org.apache.flink.runtime.plugable.",
            "com.esotericsoftware.kryo.",
        ),
    ),
    (
        "source",
        (
            "org.apache.kafka.",
            "org.apache.flink.kafka.shaded.",
            "org.apache.flink.connector.",
            "org.apache.flink.streaming.api.operators.source.",
            "org.apache.flink.table.",
            "io.userpulse.flink.AvroEventTime",
        ),
    ),
)
_CHECKPOINT = ("AsyncCheckpointRunnable", "SnapshotStrategyRunner", "AsyncSnapshotCallable")
_GENERATED = re.compile(r"^[A-Za-z]+\$\d+$")  # Janino classes of the table planner, no package
SAMPLE_PERIOD_MS = 2
JFC = f"""<?xml version="1.0" encoding="UTF-8"?>
<configuration version="2.0" label="userpulse-bench" description="method samples only">
  <event name="jdk.ExecutionSample">
    <setting name="enabled">true</setting>
    <setting name="period">{SAMPLE_PERIOD_MS} ms</setting>
  </event>
</configuration>
"""
"""JFR settings: only ``jdk.ExecutionSample``, every 2 ms (``profile`` samples every 10 ms)."""


def _frame_class(frame: dict[str, Any]) -> str:
    name = str(frame.get("method", {}).get("type", {}).get("name", ""))
    return name.replace("/", ".")  # `jfr print --json` writes internal names (a/b/C)


def _frame_name(frame: dict[str, Any]) -> str:
    m = frame.get("method", {})
    return f"{_frame_class(frame)}.{m.get('name', '?')}"


def classify(frames: list[dict[str, Any]], thread: str) -> tuple[str, str]:
    """``(stage, detail)`` of one sample: its frames leaf first, its thread's Java name."""
    classes = [_frame_class(f) for f in frames]
    if any(c.endswith(_CHECKPOINT) or any(x in c for x in _CHECKPOINT) for c in classes):
        return "other", "checkpoint"
    if thread.startswith("kafka-producer-network-thread"):
        return "other", "side-output producers"
    sink = dict(_RULES)["sink"]
    if any(c.startswith(sink) for c in classes):
        return "sink", "sink"  # incl. what the writer calls (the profile's JSON at a flush)
    for c in classes:
        for stage, prefixes in _RULES:
            if c.startswith(prefixes):
                return ("other", "shuffle") if stage == "shuffle" else (stage, stage)
        if _GENERATED.match(c):
            return "source", "source"
    if thread.startswith("Source Data Fetcher"):
        return "source", "source"
    return "other", "runtime"


def sample_epoch_s(event: dict[str, Any]) -> float | None:
    """UTC epoch seconds of one ``jfr print --json`` event (its ``startTime``, e.g.
    ``2026-12-02T04:10:39.549429028Z``: nanoseconds truncated to microseconds); None without
    one."""
    raw = str(event.get("values", {}).get("startTime") or "")
    if not raw:
        return None
    head, dot, frac = raw.rstrip("Z").partition(".")
    return (
        datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}" if dot else head)
        .replace(tzinfo=timezone.utc)
        .timestamp()
    )


def parse_recording(path: Path, since_epoch_s: float | None = None) -> dict[str, Any]:
    """Samples per stage (and ``other`` by detail, top leaf methods per stage) of one ``.jfr``;
    with ``since_epoch_s`` (UTC epoch s), only the samples taken from then on."""
    out = subprocess.run(
        ["jfr", "print", "--json", "--stack-depth", "64", "--events", "jdk.ExecutionSample",
         str(path)],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    events = json.loads(out)["recording"]["events"]
    stages: Counter[str] = Counter()
    detail: Counter[str] = Counter()
    leaves: dict[str, Counter[str]] = {s: Counter() for s in STAGES}
    for ev in events:
        if since_epoch_s is not None and (sample_epoch_s(ev) or 0.0) < since_epoch_s:
            continue
        v = ev.get("values", {})
        frames = (v.get("stackTrace") or {}).get("frames") or []
        thread = str((v.get("sampledThread") or {}).get("javaName") or "")
        stage, d = classify(frames, thread)
        stages[stage] += 1
        if stage == "other":
            detail[d] += 1
        if frames:
            leaves[stage][_frame_name(frames[0])] += 1
    return {"samples": dict(stages), "other_detail": dict(detail), "leaves": leaves}
