"""The throughput search's verdict on one rate step (bench/search.py)."""

from __future__ import annotations

from bench.search import verdict

# userpulse-p1 at 16,875/s in `make bench-quick` of 2026-12-01 04:03 UTC: the sampling stalled
# for 43 s (the topic-size probe's ListOffsets timed out), so the last three samples were
# [331, 469, 115771] and the old rule (their median) said "keeps up" while 115,771 records were
# behind; the system had counted 79,000 of the 253,000 the producer delivered.
STALLED = [
    (0.0, 1097.0),
    (0.5, 4207.0),
    (1.0, 2108.0),
    (1.5, 220.0),
    (2.1, 331.0),
    (2.6, 469.0),
    (46.1, 115771.0),
]


def test_a_stalled_sampling_judges_the_end_of_the_step_not_earlier_samples() -> None:
    assert verdict(STALLED, 16_875, short_at_end=0.0) == (115771.0, False)


def test_the_tail_is_the_median_of_the_last_two_seconds() -> None:
    lag = [(float(t) / 2, 100.0) for t in range(20)] + [(10.0, 9_000.0)]
    # samples at 8.0..9.5 s hold 100 and 10.0 s holds 9,000: median 100, within 1 s of 5,000/s
    assert verdict(lag, 5_000, short_at_end=0.0) == (100.0, True)
    assert verdict(lag, 50, short_at_end=0.0) == (100.0, True)  # the bound is at least 200
    assert verdict([(0.0, 201.0)], 50, short_at_end=0.0) == (201.0, False)


def test_records_short_of_the_producers_deliveries_fail_the_step() -> None:
    lag = [(float(t), 10.0) for t in range(10)]
    assert verdict(lag, 5_000, short_at_end=5_000) == (10.0, True)
    assert verdict(lag, 5_000, short_at_end=5_001) == (10.0, False)
    assert verdict([], 5_000, short_at_end=6_000) == (0.0, False)
    assert verdict([], 5_000, short_at_end=0) == (0.0, True)
