"""The bench's report over several userpulse variants, and the JFR stage attribution."""

from __future__ import annotations

import os
from typing import Any

import pytest

from bench import jfr_samples, jvm_threads, report


def _frames(*classes: str) -> list[dict[str, Any]]:
    """JFR JSON frames, leaf first, with internal class names as `jfr print --json` writes."""
    return [{"method": {"type": {"name": c.replace(".", "/")}, "name": "m"}} for c in classes]


def test_stage_of_a_sample_follows_its_stack() -> None:
    fold = "io.userpulse.flink.operator.FeatureFunction"
    assert jfr_samples.classify(
        _frames("java.util.HashMap", "org.apache.flink.runtime.state.heap.X", fold), "features"
    ) == ("fold", "fold")
    # the profile's JSON built by the writer at a flush is sink work, not fold
    assert jfr_samples.classify(
        _frames(
            "io.userpulse.flink.profile.PyRepr",
            "io.userpulse.flink.redis.StagedUser",
            "io.userpulse.flink.redis.TileWriter",
            fold,
        ),
        "features",
    ) == ("sink", "sink")
    assert jfr_samples.classify(
        _frames("io.userpulse.shaded.redis.clients.jedis.Protocol", fold), "t"
    ) == ("sink", "sink")
    decode = "io.userpulse.flink.decode.DecodeFunction"
    assert jfr_samples.classify(_frames("java.lang.String", decode), "t") == ("decode", "decode")
    # the decoded record serialised into the shuffle, below the decoder: other (shuffle)
    assert jfr_samples.classify(
        _frames("org.apache.flink.api.java.typeutils.runtime.PojoSerializer", decode), "t"
    ) == ("other", "shuffle")
    assert jfr_samples.classify(
        _frames("org.apache.flink.kafka.shaded.org.apache.kafka.clients.X"), "t"
    ) == ("source", "source")
    assert jfr_samples.classify(_frames("WatermarkGenerator$0"), "t") == ("source", "source")
    assert jfr_samples.classify(
        _frames("io.userpulse.flink.tiles.TileSerializer", "x.AsyncCheckpointRunnable"), "t"
    ) == ("other", "checkpoint")
    assert jfr_samples.classify(_frames("java.lang.Thread"), "t") == ("other", "runtime")


def test_relocated_libraries_count_as_the_stage_that_calls_them() -> None:
    """Only Jedis and its pool among the jar's relocated libraries are the sink: the distinct
    items' BLAKE2b (BouncyCastle, relocated too) is fold work, as it was measured being called
    (the stack of a real sample, 2026-12-01, 73 of 613 samples then counted as sink)."""
    blake = [
        "java.lang.Long",
        "io.userpulse.shaded.org.bouncycastle.util.Longs",
        "io.userpulse.shaded.org.bouncycastle.crypto.digests.Blake2bDigest",
        "io.userpulse.flink.tiles.ValueHash",
        "io.userpulse.flink.tiles.TileAggregator",
        "io.userpulse.flink.tiles.TileState",
        "io.userpulse.flink.operator.FeatureFunction",
    ]
    assert jfr_samples.classify(_frames(*blake), "features -> late") == ("fold", "fold")
    pool = "io.userpulse.shaded.org.apache.commons.pool2.impl.GenericObjectPool"
    writer = "io.userpulse.flink.operator.Writers"
    assert jfr_samples.classify(_frames(pool, writer), "t") == ("sink", "sink")
    avro = "io.userpulse.shaded.org.apache.avro.io.BinaryDecoder"
    decode = "io.userpulse.flink.decode.EventReader"
    assert jfr_samples.classify(_frames(avro, decode), "t") == ("decode", "decode")


def test_thread_groups_of_a_taskmanager() -> None:
    """Thread names as /proc shows them (15 characters), from a TaskManager running the job."""
    names = {
        "C2 CompilerThre": "jit",
        "C1 CompilerThre": "jit",
        "GC Thread#1": "gc",
        "G1 Conc#0": "gc",
        "G1 Refine#0": "gc",
        "VM Thread": "gc",
        "Source Data Fet": "source fetcher",
        "Source: kafka-s": "source task",
        "features -> lat": "features task",
        "OutputFlusher f": "network flusher",
        "AsyncOperations": "checkpoints",
        "flink-pekko.act": "other",
        "JFR Periodic Ta": "other",
    }
    assert {n: jvm_threads.thread_group(n) for n in names} == names
    before = {(1, 10): ("C2 CompilerThre", 500), (1, 11): ("features -> lat", 40)}
    after = {
        (1, 10): ("C2 CompilerThre", 530),
        (1, 11): ("features -> lat", 140),
        (1, 12): ("GC Thread#2", 7),  # started in between: counted from 0
    }
    assert jvm_threads.ticks_by_group(before, after) == {
        "jit": 30,
        "features task": 100,
        "gc": 7,
    }


def test_report_uses_the_best_userpulse_variant() -> None:
    systems: dict[str, dict[str, Any]] = {
        "userpulse-p1": {"sustained_events_per_s": 10_000.0},
        "userpulse-p2": {
            "sustained_events_per_s": 15_000.0,
            "freshness": {"p50": 4.0, "p99": 30.0, "p999": 60.0},
        },
        "peer": {"sustained_events_per_s": 150.0, "freshness": {"p50": 10.0}},
        "peer-tiles": {"sustained_events_per_s": 5_000.0, "freshness": {"p50": 5.0}},
    }
    rep = report.build(
        meta={}, ceiling={"events_per_s": 100_000.0}, systems=systems, lookups={},
        jvm_profile={"us_per_event": {"fold": 1.0}}, state={"one": {"bytes_per_user": 500}},
    )  # fmt: skip
    tp = rep["ratios"]["throughput"]
    assert rep["ratios"]["best_userpulse"] == "userpulse-p2"
    assert tp["userpulse_over_best_peer"] == 3.0
    assert tp["userpulse_over_ceiling"] == 0.15
    assert tp["userpulse_p1_over_best_peer"] == 2.0
    assert tp["userpulse_p2_over_p1"] == 1.5
    met = {t["target"]: t["met"] for t in rep["targets"]}
    assert met == {
        "throughput >= 1.5x peer (the faster variant)": True,
        "throughput >= 0.5x ceiling": False,
        "freshness p50 <= 10 ms": True,
        "freshness p99 <= 50 ms": True,
    }
    assert rep["jvm_profile"] and rep["state_size"]
    text = report.table(rep)
    assert "userpulse p=1 | userpulse p=2" in text and "15,000" in text


def test_jit_cores_over_a_window() -> None:
    """The warm-up's settle check (bench/run.py): the compiler threads' ticks over the window."""
    hz = os.sysconf("SC_CLK_TCK")
    before = {(1, 10): ("C2 CompilerThre", 0), (1, 11): ("features -> lat", 0)}
    after = {(1, 10): ("C2 CompilerThre", hz * 3), (1, 11): ("features -> lat", hz * 9)}
    assert jvm_threads.jit_cores(before, after, 10.0) == pytest.approx(0.3)
    assert jvm_threads.jit_cores(after, after, 10.0) == 0.0
    with pytest.raises(ValueError, match="wall_s"):
        jvm_threads.jit_cores(before, after, 0.0)


def test_a_jfr_sample_time_is_utc_epoch_seconds() -> None:
    """``startTime`` as ``jfr print --json`` writes it (nanoseconds, Z): the profile keeps only the
    samples of its measured window by it."""
    ev = {"values": {"startTime": "2026-12-02T04:10:39.549429028Z"}}
    assert jfr_samples.sample_epoch_s(ev) == pytest.approx(1796184639.549429, abs=1e-6)
    assert jfr_samples.sample_epoch_s({"values": {"startTime": "2026-12-02T04:10:39Z"}}) == (
        1796184639.0
    )
    assert jfr_samples.sample_epoch_s({"values": {}}) is None
