"""Unit tests of the load-test producers: profiles, faults, shares, replay copies (no broker)."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from userpulse.events import Event, EventType, validation_error
from userpulse.producers.faults import MALFORMED_KINDS, FaultSpec, malformed_value
from userpulse.producers.load import LoadSpec, derive_seed, load_records
from userpulse.producers.metrics import ProducerMetrics
from userpulse.producers.pacing import RawRecord, RunSummary, Tick
from userpulse.producers.profile import Burst, ProfileError, RateProfile
from userpulse.producers.replay import multiply
from userpulse.producers.synthetic import SyntheticTraffic
from userpulse.schemas import codec

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _zipf_slope(counts: list[int]) -> float:
    """Least-squares slope of log(count) against log(rank) (rank 1 = most frequent)."""
    xs = [math.log(r) for r in range(1, len(counts) + 1)]
    ys = [math.log(c) for c in counts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


@pytest.mark.parametrize("s", [0.8, 1.1, 1.4])
def test_empirical_item_zipf_exponent(s: float) -> None:
    # HOVER items are pure Zipf draws: the rank-frequency slope of the top 30 is about -s
    events = SyntheticTraffic(5, item_zipf_s=s, items=5_000, start_time_ms=START_MS).events(
        1_000, 40_000
    )
    hovers = Counter(e.item_id for e in events if e.event_type is EventType.HOVER)
    top = [n for _, n in hovers.most_common(30)]
    assert abs(-_zipf_slope(top) - s) < 0.15


def test_empirical_user_zipf_exponent_follows_the_knob() -> None:
    def slope(s: float) -> float:
        ev = SyntheticTraffic(3, users=2_000, zipf_s=s, start_time_ms=START_MS).events(
            1_000, 40_000
        )
        return -_zipf_slope([n for _, n in Counter(e.user_id for e in ev).most_common(50)])

    low, high = slope(0.7), slope(1.3)
    assert 0.5 < low < 0.95 and 1.05 < high < 1.6  # sessions add noise, not a different law
    assert high - low > 0.4


def _spec(**kw: object) -> LoadSpec:
    base: dict[str, object] = {"profile": RateProfile(1_000.0), "duration_s": 20.0, "users": 500}
    base.update(kw)
    return LoadSpec(**base)  # type: ignore[arg-type]


def test_equal_seeds_give_identical_bytes_with_faults_and_profile() -> None:
    faults = FaultSpec(out_of_order=0.05, late=0.02, malformed=0.03)
    prof = RateProfile.parse("diurnal:10:0.5", 1_000.0, "5:1:3")

    def values(seed: int) -> list[tuple[float, bytes | None]]:
        spec = _spec(profile=prof, faults=faults, seed=seed)
        return [(d, r.value) for d, r in load_records(spec, START_MS) if isinstance(r, RawRecord)]

    a, b, c = values(4), values(4), values(5)
    assert len(a) > 10_000 and a == b
    assert a != c


def test_without_faults_the_clean_stream_is_the_generator_stream() -> None:
    spec = _spec(duration_s=2.0)
    got = [e for _, e in load_records(spec, START_MS)]
    want = list(SyntheticTraffic(1, users=500, start_time_ms=START_MS).events(1_000.0, 2_000))
    assert got == want


def test_injected_fractions_and_their_effects() -> None:
    faults = FaultSpec(out_of_order=0.05, late=0.02, malformed=0.03)
    spec = _spec(duration_s=50.0, faults=faults, seed=9)
    clean = {e.event_id: e for _, e in load_records(_spec(duration_s=50.0, seed=9), START_MS)}
    records = [r for _, r in load_records(spec, START_MS)]
    assert len(records) == 50_000
    assert all(isinstance(r, RawRecord) for r in records)
    kinds = Counter(r.kind.split(":")[0] for r in records)  # type: ignore[union-attr]
    for kind, p in (("out_of_order", 0.05), ("late", 0.02), ("malformed", 0.03)):
        assert abs(kinds[kind] / 50_000 - p) < 0.1 * p, kinds
    decoder = codec.Decoder()
    late_ms = faults.out_of_orderness_ms + faults.allowed_lateness_ms
    for r in records:
        assert isinstance(r, RawRecord)
        if r.kind in ("out_of_order", "late"):
            e = decoder.decode(r.value or b"")
            shift = clean[e.event_id].event_time_ms - e.event_time_ms
            if r.kind == "out_of_order":
                assert 1 <= shift <= faults.out_of_orderness_ms
            else:
                assert shift > late_ms
            assert r.key == e.user_id.encode()


def _job_verdict(value: bytes, now_ms: int) -> str:
    """What the job's decode stage makes of ``value``: its error class, or ``ok``."""
    try:
        e = codec.Decoder().decode(value)
    except codec.DecodeError as exc:
        return exc.error_class
    reason = validation_error(e, now_ms)
    return "ok" if reason is None else reason.split(":")[0]


def test_every_malformed_kind_is_rejected_as_documented() -> None:
    import random

    e = Event("e-1", EventType.HOVER, "u1", START_MS, "s1", item_id="i1", dwell_ms=900)
    rng = random.Random(1)
    got = {k: _job_verdict(malformed_value(e, k, rng), START_MS) for k in MALFORMED_KINDS}
    assert got["bad_framing"] == "bad_framing"
    assert got["unknown_schema"] == "unknown_schema"
    assert got["trailing_bytes"] == "trailing_bytes"
    assert got["empty"] == "empty"
    assert got["too_large"] == "too_large"
    assert got["bad_utf8"] == "UnicodeDecodeError"
    assert got["time_seconds"] == "event_time out of range"
    assert got["truncated"] not in ("ok", "trailing_bytes")
    with pytest.raises(ValueError, match="unknown malformed kind"):
        malformed_value(e, "nope", rng)


def test_fault_spec_rejects_bad_fractions() -> None:
    with pytest.raises(ValueError, match="late"):
        FaultSpec(late=1.5)
    with pytest.raises(ValueError, match="add up"):
        FaultSpec(out_of_order=0.6, malformed=0.6)


def test_step_profile_rates_and_counts() -> None:
    prof = RateProfile.parse("step:5=2000,8=500", 1_000.0)
    assert [prof.rate_at(t) for t in (0, 4.9, 5, 7.9, 8, 100)] == [1000, 1000, 2000, 2000, 500, 500]
    dues = list(prof.due_times(10.0))
    assert abs(len(dues) - (5 * 1000 + 3 * 2000 + 2 * 500)) <= 2
    assert prof.expected_count(10.0) == len(dues)
    assert dues == sorted(dues) and dues[-1] < 10.0


def test_diurnal_mean_is_the_base_rate_and_bursts_multiply() -> None:
    prof = RateProfile.parse("diurnal:20:0.8", 500.0)
    assert prof.rate_at(0) == pytest.approx(100.0)  # trough 500 * (1 - 0.8)
    assert prof.rate_at(10) == pytest.approx(900.0)  # peak at half the period
    assert abs(prof.expected_count(40.0) - 500 * 40) < 0.01 * 500 * 40
    burst = RateProfile.parse("constant", 100.0, "10:2:5")
    assert [burst.rate_at(t) for t in (5, 10.5, 12.5, 20, 21.9, 22)] == [
        100,
        500,
        100,
        500,
        500,
        100,
    ]


@pytest.mark.parametrize(
    ("text", "burst", "match"),
    [
        ("wobble", None, "unknown profile"),
        ("step:", None, "at least one"),
        ("step:a=b", None, "step:T1=R1"),
        ("diurnal:10:1.5", None, "AMPLITUDE"),
        ("constant", "1:2", "EVERY_S:LENGTH_S:FACTOR"),
        ("constant", "1:2:3", "exceeds its period"),
    ],
)
def test_bad_profiles_say_what_to_write(text: str, burst: str | None, match: str) -> None:
    with pytest.raises(ProfileError, match=match):
        RateProfile.parse(text, 100.0, burst)
    assert Burst.parse("30:2:3") == Burst(30, 2, 3)


def test_process_shares_split_rate_users_and_seeds() -> None:
    spec = _spec(duration_s=10.0, users=1_000, seed=7)
    shares = [spec.share(i, 3) for i in range(3)]
    assert [s.seed for s in shares] == [derive_seed(7, i) for i in range(3)] == [7000, 7001, 7002]
    assert sum(s.profile.base_rate_per_s for s in shares) == pytest.approx(1_000.0)
    users = [{e.user_id for _, e in load_records(s, START_MS)} for s in shares]
    assert not (users[0] & users[1] or users[0] & users[2] or users[1] & users[2])
    assert all(int(u[1:]) % 3 == i for i, us in enumerate(users) for u in us)
    assert all(int(u[1:]) < 1_000 and len(u) == 4 for us in users for u in us)
    assert spec.share(0, 1) is spec
    with pytest.raises(ValueError, match="processes"):
        spec.share(0, 2_000)


def test_replay_copies_multiply_users_with_shifted_times() -> None:
    evs = [
        Event("a", EventType.CLICK, "7", 1_000, "s7"),
        Event("b", EventType.CLICK, "8", 1_500, "s8"),
    ]
    out = multiply(evs, 3, shift_ms=400)
    assert [(e.user_id, e.event_time_ms, e.event_id) for e in out] == [
        ("7#0", 1_000, "a#0"),
        ("7#1", 1_400, "a#1"),
        ("8#0", 1_500, "b#0"),
        ("7#2", 1_800, "a#2"),
        ("8#1", 1_900, "b#1"),
        ("8#2", 2_300, "b#2"),
    ]
    assert out[1].session_id == "s7#1"
    assert multiply(evs, 1) == evs
    with pytest.raises(ValueError, match="copies"):
        multiply(evs, 0)


def test_summary_json_and_metrics() -> None:
    s = RunSummary("synthetic", 10, 9, 1, 0, 2.0, 5.0, 5.0, 0.01, 1, 2, kinds={"late": 1})
    d = json.loads(json.dumps(s.to_dict()))
    assert d["rate_error_pct"] == 0.0 and d["kinds"] == {"late": 1} and d["failed"] == 1
    m = ProducerMetrics(5.0)
    m.update(Tick(4, 3, 1, {"_MSG_TIMED_OUT": 1}, 1.0, 4.0, 0.2))
    m.update(Tick(10, 9, 1, {"_MSG_TIMED_OUT": 1}, 2.0, 6.0, 0.0))
    get = m.registry.get_sample_value
    assert get("userpulse_producer_events_sent_total") == 10
    assert get("userpulse_producer_events_delivered_total") == 9
    assert get("userpulse_producer_delivery_errors_total", {"error": "_MSG_TIMED_OUT"}) == 1
    assert get("userpulse_producer_rate_events_per_second") == 6.0
    assert get("userpulse_producer_target_rate_events_per_second") == 5.0
