"""Load-test producers against a real broker: multi-process mode with injected faults.

Uses the ``stack`` and ``fresh_topic(partitions)`` fixtures of ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer

from userpulse.producers.faults import FaultSpec
from userpulse.producers.load import LoadSpec, derive_seed, load_records
from userpulse.producers.pacing import RawRecord
from userpulse.producers.parallel import run_parallel
from userpulse.producers.profile import RateProfile
from userpulse.settings import Settings


def _values(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, bytes]]:
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
        }
    )
    c.subscribe([topic])
    out: list[tuple[bytes, bytes]] = []
    try:
        for _ in range(120):
            for m in c.consume(num_messages=5_000, timeout=0.5):
                assert m.error() is None
                out.append((m.key(), m.value()))
            if len(out) >= expected:
                break
    finally:
        c.close()
    return out


@pytest.mark.integration
def test_two_processes_send_exactly_the_seeded_records(
    stack: Settings, fresh_topic: Callable[[int], str]
) -> None:
    topic = fresh_topic(3)
    spec = LoadSpec(
        RateProfile(2_000.0),
        2.0,
        users=300,
        seed=21,
        faults=FaultSpec(out_of_order=0.05, late=0.05, malformed=0.05),
    )
    summary = run_parallel(stack.kafka_bootstrap, topic, spec, 2)
    assert summary.processes == 2
    assert (summary.sent, summary.delivered, summary.failed) == (4_000, 4_000, 0)
    assert summary.achieved_rate_per_s == pytest.approx(2_000.0, rel=0.02)

    # what each process sent is its share, regenerated from the common start time
    start = summary.first_event_time_ms
    assert start is not None
    want: Counter[tuple[bytes | None, bytes | None]] = Counter()
    kinds: Counter[str] = Counter()
    for i in range(2):
        for _, r in load_records(spec.share(i, 2), start):
            assert isinstance(r, RawRecord)
            want[(r.key, r.value)] += 1
            kinds[r.kind] += 1
    got = Counter(_values(stack.kafka_bootstrap, topic, 4_000))
    assert got == want
    assert summary.kinds == dict(kinds)
    assert derive_seed(21, 1) == 21_001
