"""What slow freshness probes overlapped (bench/tail.py): the GC log, checkpoints, attribution."""

from __future__ import annotations

import pytest

from bench.tail import Interval, attribute, checkpoint_intervals, parse_gc_log

# lines as JDK 17's unified logging writes them with `VM.log what=gc decorators=timemillis`
GC_LOG = """\
[1796171850000ms] Using G1
[1796171854553ms] GC(8) Pause Full (Diagnostic Command) 75M->26M(448M) 112.496ms
[1796171860100ms] GC(9) Pause Young (Normal) (G1 Evacuation Pause) 300M->120M(1024M) 45.100ms
[1796171861000ms] GC(10) Pause Remark 130M->130M(1024M) 2.000ms
[1796171861500ms] GC(10) Concurrent Mark Cycle 880.123ms
"""


def test_the_gc_log_gives_each_pause_ending_at_its_line() -> None:
    pauses = parse_gc_log(GC_LOG)
    assert [(p.start_ms, p.end_ms, p.detail) for p in pauses] == [
        (pytest.approx(1796171854553 - 112.496, abs=1e-3), 1796171854553.0, "Full"),
        (pytest.approx(1796171860100 - 45.1, abs=1e-3), 1796171860100.0, "Young"),
        (pytest.approx(1796171861000 - 2.0, abs=1e-3), 1796171861000.0, "Remark"),
    ]  # a concurrent cycle is not a pause; "Using G1" is no event
    assert {p.kind for p in pauses} == {"gc_pause"}


def test_checkpoints_span_trigger_to_end_and_a_running_one_its_latest_ack() -> None:
    history = [
        {"id": 3, "trigger_timestamp": 1000, "end_to_end_duration": 650},
        {
            "id": 4,
            "trigger_timestamp": 2000,
            "end_to_end_duration": 0,
            "latest_ack_timestamp": 2300,
        },
        {"id": 5, "trigger_timestamp": 0},  # never triggered: skipped
    ]
    assert [(i.start_ms, i.end_ms, i.detail) for i in checkpoint_intervals(history)] == [
        (1000.0, 1650.0, "3"),
        (2000.0, 2300.0, "4"),
    ]


def test_slow_probes_are_counted_under_every_kind_they_overlapped() -> None:
    intervals = [
        Interval("gc_pause", 1_000, 1_060),
        Interval("checkpoint", 1_050, 1_700),
        Interval("aof_rewrite", 5_000, 6_000),
    ]
    probes = [
        (990.0, 120.0),  # slow, lived through the pause and the checkpoint's start
        (1_500.0, 80.0),  # slow, inside the checkpoint only
        (1_600.0, 10.0),  # fast, inside the checkpoint: the base rate, not the tail
        (3_000.0, 200.0),  # slow, nothing happened: unexplained
        (5_500.0, 5.0),  # fast, during the rewrite
        (6_000.5, 60.0),  # slow, created just after the rewrite ended: no overlap
    ]
    out = attribute(probes, intervals, threshold_ms=50)
    assert out["probes"] == 6
    assert out["slow"] == 4
    assert out["by_kind"] == {
        "gc_pause": 1, "checkpoint": 2, "aof_rewrite": 0, "redis_stall": 0, "redis_slow": 0,
    }  # fmt: skip
    assert out["all_by_kind"] == {
        "gc_pause": 1, "checkpoint": 3, "aof_rewrite": 1, "redis_stall": 0, "redis_slow": 0,
    }  # fmt: skip
    assert out["unexplained"] == 2
    assert out["intervals"] == {
        "gc_pause": 1, "checkpoint": 1, "aof_rewrite": 1, "redis_stall": 0, "redis_slow": 0,
    }  # fmt: skip
    assert [(s["ms"], s["kinds"]) for s in out["slow_probes"]] == [
        (200.0, []),
        (120.0, ["checkpoint", "gc_pause"]),
        (80.0, ["checkpoint"]),
        (60.0, []),
    ]


def test_a_probe_at_the_threshold_is_not_slow() -> None:
    out = attribute([(0.0, 50.0)], [Interval("gc_pause", 0, 10)], threshold_ms=50)
    assert (out["slow"], out["by_kind"]["gc_pause"], out["all_by_kind"]["gc_pause"]) == (0, 0, 1)
