"""Property test through the real job: random event sequences with random arrival disorder.

Hypothesis draws a population of users, each with events over a few hours (all types, items,
dwell, depth), an arrival order with random disorder (some of it beyond the allowed lateness) and
some malformed records. One unbounded job per example on 2 partitions. Then:
- counted + late + dead-lettered = input (counted from the late topic's event ids: the
  watermark at each record decides lateness, so which events are late is not known in advance);
- every feature of every user, read back through the lookup client, equals the reference
  computed from the counted events.
"""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.integration.jobkit import (
    drop_topics,
    flush_redis,
    job_settings,
    read_topic,
    unbounded_job,
)
from userpulse.compare import as_of_points, compare
from userpulse.events import Event, EventType
from userpulse.lookup import FeatureClient
from userpulse.producers.kafka_out import EventSink
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
T0 = 1717243200000


@st.composite
def traffic(draw: st.DrawFn) -> tuple[list[Event], list[bytes]]:
    """(events in arrival order, malformed payloads)."""
    events: list[Event] = []
    for u in range(draw(st.integers(5, 25))):
        t = T0 + draw(st.integers(0, 600_000))
        for i in range(draw(st.integers(1, 40))):
            t += draw(st.sampled_from([0, 1, 999, 1_000, 4_000, 59_000, 300_000, 1_900_000]))
            typ = draw(st.sampled_from(list(EventType)))
            kw: dict[str, object] = {}
            if typ is EventType.HOVER:
                kw["dwell_ms"] = draw(st.integers(0, 30_000))
            elif typ is EventType.SCROLL:
                kw["scroll_depth"] = draw(st.sampled_from([0.0, 0.3, 0.75, 1.0]))
            item = draw(st.one_of(st.none(), st.sampled_from([f"i{j}" for j in range(40)])))
            events.append(
                Event(f"u{u}-{i}", typ, f"p{u}", t, "s", item_id=item, **kw)  # type: ignore[arg-type]
            )
    events.sort(key=lambda e: e.event_time_ms)
    # disorder: move some events later in the arrival order (by up to 50 positions)
    for _ in range(draw(st.integers(0, len(events) // 3))):
        i = draw(st.integers(0, len(events) - 1))
        j = min(len(events) - 1, i + draw(st.integers(1, 50)))
        events.insert(j, events.pop(i))
    bad = draw(st.lists(st.sampled_from([b"", b"\x00", b"\xc3\x01junk", b"garbage"]), max_size=5))
    return events, bad


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: int) -> dict[str, float]:
    """Counter totals of the job's Prometheus endpoint (labels summed)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or "_total" not in line:
            continue
        name, value = line.rsplit(" ", 1)
        base = name.split("{", 1)[0]
        out[base] = out.get(base, 0.0) + float(value)
    return out


def _counted(client: FeatureClient, users: list[str]) -> int:
    """Events counted into features: the sum of the users' lifetime counts."""
    names = ["count_click_lifetime", "count_scroll_lifetime", "count_hover_lifetime"]
    got = client.get_many(users, names)
    return sum(int(r[n].value or 0) for r in got.values() for n in names)


@settings(
    max_examples=2,
    deadline=None,
    phases=[Phase.generate],  # one job run per example: no shrinking runs
    suppress_health_check=list(HealthCheck),
)
@given(traffic())
def test_job_equals_reference_under_disorder(stack: Settings, data: tuple) -> None:
    """Unbounded job; the input goes in 4 chunks with pauses, so the watermark moves between
    them and disordered events that cross a chunk boundary can be late."""
    events, bad = data
    s = job_settings(stack, partitions=2)
    flush_redis(s)
    client = FeatureClient.from_settings(s)
    users = sorted({e.user_id for e in events})
    n = -(-len(events) // 4)
    chunks = [events[i : i + n] for i in range(0, len(events), n)]
    try:
        port = _free_port()
        with (
            unbounded_job(s, USERPULSE_JOB_METRICS_PORT=str(port)),
            EventSink(s.kafka_bootstrap, s.topic, **{"linger.ms": 0}) as sink,
        ):
            for c, chunk in enumerate(chunks):
                for i, e in enumerate(chunk):
                    sink.send(e)
                    if c == 0 and i < len(bad):
                        sink.send_raw(e.user_id.encode(), bad[i])
                sink.flush(30)
                if c == 0:  # the job is up once the first chunk is readable
                    deadline = time.monotonic() + 120
                    while _counted(client, users) == 0 and time.monotonic() < deadline:
                        time.sleep(0.5)
                time.sleep(2)  # periodic watermarks move on before the next chunk
            # done when counted + late + dead-lettered = input
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                late = [x["event_id"] for x in read_topic(s, s.late_topic, 2)]
                dlq = read_topic(s, s.dead_letter_topic, 2)
                got = _counted(client, users)
                if got + len(late) + len(dlq) >= len(events) + len(bad):
                    break
                time.sleep(1)
            metrics = _scrape(port)
        late_ids = set(late)
        # each late event once, each one a real input event; every bad record dead-lettered
        assert len(late) == len(late_ids)
        assert late_ids <= {e.event_id for e in events}
        assert len(dlq) == len(bad)
        assert got + len(late) + len(dlq) == len(events) + len(bad)
        # the job's own counters (design section 8) say the same
        assert metrics["userpulse_events_in_total"] == len(events) + len(bad)
        assert metrics["userpulse_events_counted_total"] == got
        assert metrics["userpulse_events_late_total"] == len(late)
        assert metrics.get("userpulse_events_dead_lettered_total", 0) == len(bad)
        # the rest was counted exactly once: the features equal the reference of exactly them
        counted = [e for e in events if e.event_id not in late_ids]
        res = compare(client, counted, as_of_points(counted, per_user=2))
        assert res.mismatches == 0, res.bad
        assert res.compared > 0
        print(f"property: {len(events)} events, {len(late)} late, {len(bad)} bad, {res}")
    finally:
        drop_topics(s)
