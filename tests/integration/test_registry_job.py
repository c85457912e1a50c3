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
    v2 = WriterSchema.from_json(load_schema_json(v2_schema_dir(tmp_path)))
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


def test_backfill_reads_both_framings_like_the_job(registry: Settings) -> None:
    from userpulse.backfill.sources import read_topic as backfill_read

    s = job_settings(registry)
    events = case_events(H09)[:3]
    try:
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.send(events[0])  # single-object
            sink.encoder = encoder_for(registry, s.topic)
            sink.send(events[1])  # Confluent
            sink.send(events[2], value=encode_confluent(events[2], 9999))
            sink.flush(30)
        table, bad = backfill_read(s, s.topic, timeout_s=60)
        assert table.column("event_id").to_pylist() == [events[0].event_id, events[1].event_id]
        assert bad == {"unknown_schema": 1}
    finally:
        drop_topics(s)
