"""Case H10 through the job on the session cluster: schema evolution both ways across a
savepoint, with both framings on one topic and the real schema registry.

v2 adds an optional field with a default (``locale``, as the JVM decode vectors' v2). The job on
v1 (this build's ``schemas/``) reads a v1 record in Confluent framing (id from the registry) and
a v2 record in single-object framing (its fingerprint found in the topic's subject on the
registry); it stops with a savepoint. The job on v2 (``schema_dir``) resumes from it and reads a
v1 record in single-object framing (a released writer schema) and a v2 record in Confluent
framing. Nothing is dead-lettered; the features are exact.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cases import case_events, load_cases
from tests.integration.flinkkit import flink, wait_counted
from tests.integration.jobkit import (
    assert_case_features,
    drop_topics,
    flush_redis,
    job_settings,
    read_topic,
)
from tests.integration.registrykit import v2_schema_dir
from userpulse.jobs import control
from userpulse.lookup import FeatureClient
from userpulse.producers.kafka_out import EventSink
from userpulse.schemas.codec import (
    CURRENT,
    WriterSchema,
    encode,
    encode_confluent,
    load_schema_json,
)
from userpulse.schemas.registry import register
from userpulse.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.long]  # ~4.5 min: `make test-long`
__all__ = ["flink"]  # the module fixture

H10 = load_cases()["H10"]


def test_h10_both_directions_both_framings_across_a_savepoint(
    flink: Settings, registry: Settings, tmp_path: Path
) -> None:
    base = flink.model_copy(
        update={
            k: getattr(registry, k)
            for k in ("registry", "registry_port", "registry_management_port")
        }
    )
    s = job_settings(base, partitions=1, checkpoint_interval_ms=3_600_000)
    v2_dir = v2_schema_dir(tmp_path)
    v2 = WriterSchema.from_json(load_schema_json(v2_dir))
    assert v2.fingerprint != CURRENT.fingerprint
    url = s.registry_url
    assert url is not None
    id_v1 = register(url, s.value_subject, CURRENT)
    id_v2 = register(url, s.value_subject, v2)
    assert id_v1 != id_v2
    first, second = case_events(H10)  # dwell 0 (v1), dwell 1500 (v2)
    third = first.replace(event_id="h10-3", event_time_ms=first.event_time_ms + 3_000, dwell_ms=7)
    fourth = first.replace(event_id="h10-4", event_time_ms=first.event_time_ms + 4_000, dwell_ms=9)
    flush_redis(s)
    client = FeatureClient.from_settings(s)
    try:
        job = control.submit(s, parallelism=1)  # the job on v1
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.send(first, value=encode_confluent(first, id_v1, CURRENT))
            sink.send(second, value=encode(second, v2))  # fingerprint from the registry
            sink.flush(30)
        assert wait_counted(client, ["u1"], 2) == 2
        assert_case_features(s, H10)  # the case's values: old job, new producer
        savepoint = control.stop_with_savepoint(s, job)

        s2 = s.model_copy(update={"schema_dir": v2_dir})
        job = control.submit(s2, from_path=savepoint)  # the job on v2, same state
        with EventSink(s.kafka_bootstrap, s.topic) as sink:
            sink.send(third, value=encode(third, CURRENT))  # a released writer schema
            sink.send(fourth, value=encode_confluent(fourth, id_v2, v2))
            sink.flush(30)
        assert wait_counted(client, ["u1"], 4) == 4
        as_of = H10["expect"]["features"][0]["as_of"]
        got = client.get("u1", ["count_hover_1m", "sum_dwell_hover_1m"], as_of=as_of)
        assert (got["count_hover_1m"].value, got["sum_dwell_hover_1m"].value) == (4, 1516)
        assert read_topic(s, s.dead_letter_topic, 3) == []
        assert read_topic(s, s.late_topic, 3) == []
        control.cancel(s, job)
    finally:
        drop_topics(s)
