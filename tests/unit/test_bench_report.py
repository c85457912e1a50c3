"""The bench's report over several userpulse variants, and the JFR stage attribution."""

from __future__ import annotations

from typing import Any

from bench import jvm_profile, report


def _frames(*classes: str) -> list[dict[str, Any]]:
    """JFR JSON frames, leaf first, with internal class names as `jfr print --json` writes."""
    return [{"method": {"type": {"name": c.replace(".", "/")}, "name": "m"}} for c in classes]


def test_stage_of_a_sample_follows_its_stack() -> None:
    fold = "io.userpulse.flink.operator.FeatureFunction"
    assert jvm_profile.classify(
        _frames("java.util.HashMap", "org.apache.flink.runtime.state.heap.X", fold), "features"
    ) == ("fold", "fold")
    # the profile's JSON built by the writer at a flush is sink work, not fold
    assert jvm_profile.classify(
        _frames(
            "io.userpulse.flink.profile.PyRepr",
            "io.userpulse.flink.redis.StagedUser",
            "io.userpulse.flink.redis.TileWriter",
            fold,
        ),
        "features",
    ) == ("sink", "sink")
    assert jvm_profile.classify(
        _frames("io.userpulse.shaded.redis.clients.jedis.Protocol", fold), "t"
    ) == ("sink", "sink")
    decode = "io.userpulse.flink.decode.DecodeFunction"
    assert jvm_profile.classify(_frames("java.lang.String", decode), "t") == ("decode", "decode")
    # the decoded record serialised into the shuffle, below the decoder: other (shuffle)
    assert jvm_profile.classify(
        _frames("org.apache.flink.api.java.typeutils.runtime.PojoSerializer", decode), "t"
    ) == ("other", "shuffle")
    assert jvm_profile.classify(
        _frames("org.apache.flink.kafka.shaded.org.apache.kafka.clients.X"), "t"
    ) == ("source", "source")
    assert jvm_profile.classify(_frames("WatermarkGenerator$0"), "t") == ("source", "source")
    assert jvm_profile.classify(
        _frames("io.userpulse.flink.tiles.TileSerializer", "x.AsyncCheckpointRunnable"), "t"
    ) == ("other", "checkpoint")
    assert jvm_profile.classify(_frames("java.lang.Thread"), "t") == ("other", "runtime")


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
