"""Settings by component (issue 14): ``Settings`` is every component's class, and a lookup-only
user meets only the store's and the lookup service's settings."""

from __future__ import annotations

from userpulse.config import (
    ClusterSettings,
    JobSettings,
    KafkaSettings,
    LookupSettings,
    RedisSettings,
)
from userpulse.lookup.client import FeatureClient
from userpulse.settings import Settings

COMPONENTS = (RedisSettings, LookupSettings, KafkaSettings, JobSettings, ClusterSettings)


def test_settings_is_every_component_and_the_fields_are_split_without_overlap() -> None:
    assert all(issubclass(Settings, c) for c in COMPONENTS)
    own = {
        c: set(c.model_fields)
        - {"home"}
        - (set(RedisSettings.model_fields) if c is LookupSettings else set())
        for c in COMPONENTS
    }
    seen: set[str] = set()
    for fields in own.values():
        assert not fields & seen
        seen |= fields
    local = {"checkout_dir", "replay_data_dir", "infra_lib", "home"}
    assert seen | local == set(Settings.model_fields)


def test_lookup_only_settings_have_no_job_kafka_or_cluster_settings() -> None:
    names = set(LookupSettings.model_fields)
    assert {"redis_host", "redis_lookup_user", "service_port", "lookup_max_batch_users"} <= names
    assert not {n for n in names if n.startswith(("kafka_", "flink_", "topic", "checkpoint"))}
    assert "parallelism" not in names and "infra_lib" not in names


def test_the_lookup_client_takes_lookup_only_settings() -> None:
    s = LookupSettings(_env_file=None, redis_port=6399, lookup_max_batch_users=7)  # type: ignore[call-arg]
    client = FeatureClient.from_settings(s)  # no I/O until the first lookup
    try:
        kw = client._r.connection_pool.connection_kwargs
        assert (kw["host"], kw["port"]) == ("127.0.0.1", 6399)
        assert client._max_users == 7
    finally:
        client.close()
