"""Cases from ../shared/cases/cases.json through the real job and the lookup client.

H02 (event time from the payload, not the Kafka timestamp), H05 (tile boundaries), H06 (the last
writes are flushed before a bounded job ends), H01 (idle partitions never hold features back) and
H04 (late events go to the late topic with partition and offset; events within the allowed
lateness patch their tiles).
"""

from __future__ import annotations

import time

import pytest

from tests.cases import case_events, load_cases
from tests.integration.jobkit import (
    assert_case_features,
    drop_topics,
    flush_redis,
    job_settings,
    read_topic,
    run_bounded,
    unbounded_job,
)
from userpulse.lookup import FeatureClient
from userpulse.producers.kafka_out import EventSink
from userpulse.schemas.codec import encode
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
CASES = load_cases()


@pytest.mark.parametrize("case_id", ["H02", "H05", "H06"])
def test_bounded_cases(stack: Settings, case_id: str) -> None:
    case = CASES[case_id]
    s = job_settings(stack)
    flush_redis(s)
    try:
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            for e in case_events(case):
                # H02: every record carries a Kafka timestamp of T0 + 1 h; it must not matter
                ts = (
                    CASES["H02"]["events"][0]["event_time"] + 3_600_000
                    if case_id == "H02"
                    else None
                )
                sink.send_raw(e.user_id.encode(), encode(e), timestamp_ms=ts)
            sink.flush(30)
        summary = run_bounded(s)  # Redis is read only after the job has exited (H06)
        assert summary == {"dead_lettered": 0, "late": 0}
        assert_case_features(s, CASES[case_id])
    finally:
        drop_topics(s)


def test_h01_idle_partitions_do_not_hold_features_back(stack: Settings) -> None:
    s = job_settings(stack, partitions=3)
    flush_redis(s)
    try:
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            for e in case_events(CASES["H01"]):
                sink.send_raw(e.user_id.encode(), encode(e), partition=0)
            sink.flush(30)
        assert run_bounded(s) == {"dead_lettered": 0, "late": 0}
        assert_case_features(s, CASES["H01"])
    finally:
        drop_topics(s)


def test_h04_late_event_goes_to_late_topic_and_in_lateness_event_patches(stack: Settings) -> None:
    """Unbounded job; pauses let periodic watermarks advance between the last records."""
    s = job_settings(stack)
    flush_redis(s)
    try:
        with unbounded_job(s):
            events = case_events(CASES["H04"])
            client = FeatureClient.from_settings(s)
            with EventSink(s.kafka_bootstrap, s.topic, **{"linger.ms": 0}) as sink:
                for i, e in enumerate(events):
                    if i >= 2:
                        time.sleep(3)  # the watermark moves past T0+700000-5001 meanwhile
                    sink.send_raw(e.user_id.encode(), encode(e))
                    sink.flush(10)
                    if i == 0:  # wait until the job is up and has written the first event
                        deadline = time.monotonic() + 120
                        while time.monotonic() < deadline:
                            if client.get("u1", ["last_seen"])["last_seen"].value is not None:
                                break
                            time.sleep(0.5)
            time.sleep(3)
            late = read_topic(s, s.late_topic)
            assert [(x["partition"], x["offset"], x["event_time_ms"]) for x in late] == [
                (0, 2, events[2].event_time_ms)
            ]
            assert_case_features(s, CASES["H04"])
    finally:
        drop_topics(s)
