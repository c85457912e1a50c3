"""The schema registry in the local stack and through the job (cases H09 and H10; docs/schemas.md).

The registry is the real Apicurio Registry (session fixture ``registry``); outages are played by
a TCP proxy in front of it (:class:`FaultProxy`: connection resets, then a registry that accepts
but never answers), so the job meets every failure a real registry shows on the wire.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.cases import case_events, load_cases
from tests.integration.conftest import _free_ports
from tests.integration.faultproxy import FaultProxy
from tests.integration.jobkit import (
    assert_case_features,
    drop_topics,
    flush_redis,
    job_settings,
    read_topic,
    run_bounded,
)
from tests.integration.registrykit import v2_schema_dir
from userpulse import stack as stack_lib
from userpulse.cli import app
from userpulse.producers.kafka_out import EventSink
from userpulse.schemas.codec import WriterSchema, encode, encode_confluent, load_schema_json
from userpulse.schemas.registry import encoder_for, register
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
CASES = load_cases()
H09, H10 = CASES["H09"], CASES["H10"]


def _wait(cond: Any, timeout_s: float, what: str) -> float:
    """Poll ``cond()`` every 0.1 s until true; returns the seconds it took; fails after
    ``timeout_s``."""
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout_s, f"timed out after {timeout_s} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - t0


def _retries(port: int) -> float:
    """``userpulse_schema_registry_retries_total`` of the job's metrics endpoint."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    m = re.search(r"^userpulse_schema_registry_retries_total (\S+)$", text, re.M)
    assert m, text
    return float(m.group(1))


def test_status_shows_the_registry_and_the_ccompat_api_answers(registry: Settings) -> None:
    st = stack_lib.status(registry)
    assert st.registry is not None and st.registry.reachable and st.registry.pid is not None
    assert st.registry.address == f"127.0.0.1:{registry.registry_port}"
    assert st.healthy
    env = {
        "USERPULSE_SETTINGS_FILE": "/nonexistent",
        "USERPULSE_HOME": str(registry.home),
        "USERPULSE_KAFKA_PORT": str(registry.kafka_port),
        "USERPULSE_REDIS_PORT": str(registry.redis_port),
        "USERPULSE_REGISTRY": "true",
        "USERPULSE_REGISTRY_PORT": str(registry.registry_port),
        "USERPULSE_REGISTRY_MANAGEMENT_PORT": str(registry.registry_management_port),
        "COLUMNS": "250",
    }
    res = CliRunner().invoke(app, ["status"], env=env)
    assert res.exit_code == 0, res.output
    assert re.search(rf"registry\s.*127\.0\.0\.1:{registry.registry_port}\s.*yes", res.output)
    # the same schema registered twice has one id; the Confluent API serves it back
    url = registry.registry_url
    assert url is not None
    first = register(url, "status-check-value")
    assert register(url, "status-check-value") == first
    got = httpx.get(f"{url}/schemas/ids/{first}", timeout=5).json()
    assert '"name":"Event"' in got["schema"].replace(" ", "")
    # the bind addresses: both listeners on loopback only
    listening = open("/proc/net/tcp").read()  # noqa: SIM115 - one read
    for port in (registry.registry_port, registry.registry_management_port):
        assert f"0100007F:{port:04X}" in listening
        assert f"00000000:{port:04X}" not in listening


def test_h09_h10_both_framings_one_topic_registry_outage_and_hang(
    registry: Settings, tmp_path: Path
) -> None:
    """H09 a: id 9999 -> dead-letter topic naming the id; b: resets for 20 s -> retried, nothing
    dead-lettered meanwhile; c: a registry that never answers -> each try ends within the
    timeout and is retried; then the 10 clicks count exactly. On the same topic, H10 with the
    job on v1: a v1 record in Confluent framing and a v2 record in single-object framing (its
    fingerprint found in the topic's subject) both count. The job on v2 reading v1, and both
    across a savepoint: test_registry_evolution.py (`make test-long`)."""
    proxy = FaultProxy(registry.registry_port, mode="reset")
    metrics_port = _free_ports(1)[0]
    s = job_settings(
        registry,
        schema_registry_url=f"http://127.0.0.1:{proxy.port}/apis/ccompat/v7",
        schema_registry_timeout_s=2.0,
        job_metrics_port=metrics_port,
    )
    flush_redis(s)
    events = case_events(H09)
    v2_dir = v2_schema_dir(tmp_path)
    v2 = WriterSchema.from_json(load_schema_json(v2_dir))
    try:
        url = registry.registry_url
        assert url is not None
        register(url, s.value_subject, v2)  # registered on the registry itself, not the proxy
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.encoder = encoder_for(registry, s.topic)
            stray = events[0].replace(event_id="unknown-id")
            sink.send(stray, value=encode_confluent(stray, 9999))  # a: an id nobody registered
            for e in events:
                sink.send(e)  # Confluent framing, v1 (this build's schema)
            h10_v1, h10_v2 = case_events(H10)
            sink.send(h10_v1)
            sink.send(h10_v2, value=encode(h10_v2, v2))  # single-object, v2
            sink.flush(30)
        result: dict[str, Any] = {}
        job = threading.Thread(target=lambda: result.update(run_bounded(s)), daemon=True)
        job.start()
        _wait(lambda: proxy.seen["reset"] >= 1, 180, "the job's first registry lookup")
        time.sleep(20)  # b: 20 s of connection resets
        assert _retries(metrics_port) >= 3
        assert read_topic(s, s.dead_letter_topic, 2) == []  # dead_lettered_in_b = 0
        assert job.is_alive()
        proxy.mode = "hang"  # c: accepted, never answered
        took = _wait(lambda: proxy.seen["hang"] >= 2, 2 * (2 + 5) + 5, "a retry after a hang")
        assert took < 14  # each try ends by the 2 s timeout, backoff <= 5 s: never a hang
        proxy.mode = "forward"
        job.join(120)
        assert not job.is_alive()
        assert result == {"dead_lettered": 1, "late": 0}
        dead = read_topic(s, s.dead_letter_topic, 5)
        assert [(d["error_class"], d["reason"]) for d in dead] == [
            ("unknown_schema", "unknown schema id 9999")
        ]
        assert_case_features(s, H09)  # the 10 clicks of u1, none skipped
        assert_case_features(s, H10)  # the hovers of both versions and framings
    finally:
        proxy.close()
        drop_topics(s)


def test_backfill_reads_what_the_job_reads(registry: Settings, tmp_path: Path) -> None:
    """Backfill from Kafka decodes as the job: v1 and v2 (a newer compatible schema) in both
    framings on one topic (v2 single-object found by its fingerprint in the registry's subject),
    resolved into the reader schema, the v1 job's and the v2 job's alike; an id the registry
    lacks is unknown_schema; the sane range is the ``max_future_ms`` setting. Values equal the
    reference of the counted events."""
    from tests.backfill_kit import label_times, labels_table
    from userpulse.backfill import backfill
    from userpulse.backfill.sources import read_topic as backfill_read
    from userpulse.compare import same
    from userpulse.producers.synthetic import SyntheticTraffic
    from userpulse.reference import Reference

    s = job_settings(registry).model_copy(update={"max_future_ms": 60_000})
    v2_dir = v2_schema_dir(tmp_path)
    v2 = WriterSchema.from_json(load_schema_json(v2_dir))
    start = int(time.time() * 1000) - 3_600_000
    events = list(SyntheticTraffic(seed=13, users=5, items=30, start_time_ms=start).events(1, 80))
    ahead = events[-1].replace(event_id="ahead", event_time_ms=start + 3_600_000 + 120_000)
    try:
        id_v1 = encoder_for(s, s.topic).schema_id
        id_v2 = register(s.registry_url or "", s.value_subject, v2)
        frames = [
            lambda e: encode(e),
            lambda e: encode_confluent(e, id_v1),
            lambda e: encode_confluent(e, id_v2, v2),
            lambda e: encode(e, v2),  # the fingerprint only the subject knows
        ]
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            for i, e in enumerate(events):
                sink.send(e, value=frames[i % 4](e))
            sink.send(events[0], value=encode_confluent(events[0], 9999))
            sink.send(ahead, value=encode_confluent(ahead, id_v2, v2))
            sink.flush(30)
        labels = labels_table(label_times(events, 60, seed=13))
        ref = Reference(events)
        for reader_dir in (None, v2_dir):  # the reader schema of the v1 job, of the v2 job
            table, bad = backfill_read(s.model_copy(update={"schema_dir": reader_dir}), s.topic)
            assert bad == {"unknown_schema": 1}
            res = backfill(table, labels, max_future_ms=s.max_future_ms)
            assert res.events == len(events) and res.rejected == {"event_time out of range": 1}
            rows = res.table.to_pylist()
            for r in rows:
                want = ref.features(r["user_id"], r["as_of_ms"])
                wrong = [(n, r[n], want[n]) for n in want if not same(n, r[n], want[n])]
                assert not wrong, (r["user_id"], r["as_of_ms"], wrong)
            assert sum(1 for r in rows if r["count_click_lifetime"]) > 10
    finally:
        drop_topics(s)


def test_backfill_waits_for_the_registry_as_the_job_does(registry: Settings) -> None:
    """A registry that resets connections is not a bad record: the backfill read retries with
    the job's backoff and reads everything once the registry answers (after 2 s); past the
    read's deadline it stops with the registry's error (control)."""
    from userpulse.backfill.errors import BackfillError
    from userpulse.backfill.sources import read_topic as backfill_read

    s = job_settings(registry)
    events = case_events(H09)[:3]
    proxy = FaultProxy(registry.registry_port, mode="reset")
    url = f"http://127.0.0.1:{proxy.port}/apis/ccompat/v7"
    via = s.model_copy(update={"schema_registry_url": url, "schema_registry_timeout_s": 1.0})
    try:
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.encoder = encoder_for(s, s.topic)  # Confluent framing, through the real registry
            for e in events:
                sink.send(e)
            sink.flush(30)
        with pytest.raises(BackfillError, match="not reachable"):
            backfill_read(via, s.topic, timeout_s=2)
        threading.Timer(2.0, lambda: setattr(proxy, "mode", "forward")).start()
        table, bad = backfill_read(via, s.topic, timeout_s=60)
        assert table.column("event_id").to_pylist() == [e.event_id for e in events]
        assert bad == {} and proxy.seen["reset"] >= 3 and proxy.seen["forward"] >= 1
    finally:
        proxy.close()
        drop_topics(s)
