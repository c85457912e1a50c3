"""The Python Redis clients retry a command after a timeout or a connection error, with
exponential backoff and jitter (redis-py's ``Retry``; ``settings.redis_retries``).

A real Redis (the project's RedisServer) is paused with ``CLIENT PAUSE`` for 1 s while a lookup
with a 0.2 s timeout runs: with retries the lookup outlasts the pause and answers; with
``redis_retries=0`` (the control) the first timeout is the answer: the store is unavailable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.integration.lookupkit import T0, sample_events, start_redis, write_events
from userpulse import redis_conn
from userpulse.lookup import FeatureClient, Status, StoreUnavailable
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
PAUSE_MS = 1_000


@pytest.fixture(scope="module")
def store() -> Iterator[Settings]:
    with start_redis() as s:
        write_events(s, sample_events("r1"))
        yield s


def _lookup_during_pause(store: Settings, retries: int) -> FeatureClient:
    s = store.model_copy(update={"redis_retries": retries, "redis_timeout_s": 0.2})
    client = FeatureClient.from_settings(s)
    client.get("r1", ["count_click_1m"], as_of=T0 + 10_000)  # connected before the pause
    admin = redis_conn.connect(store, "admin")
    admin.execute_command("CLIENT", "PAUSE", PAUSE_MS, "ALL")
    admin.close()
    return client


def test_a_lookup_outlasts_a_pause_with_retries(store: Settings) -> None:
    client = _lookup_during_pause(store, retries=10)
    t0 = time.monotonic()
    got = client.get("r1", ["count_click_1m"], as_of=T0 + 10_000)["count_click_1m"]
    assert (got.status, got.value) == (Status.PRESENT, 3)
    assert time.monotonic() - t0 >= 0.5  # it did wait for the pause to end


def test_without_retries_the_pause_is_an_outage(store: Settings) -> None:
    client = _lookup_during_pause(store, retries=0)
    with pytest.raises(StoreUnavailable, match="TimeoutError"):
        client.get("r1", ["count_click_1m"], as_of=T0 + 10_000)
    time.sleep(PAUSE_MS / 1000)  # let the pause end for the other tests


def test_the_policy_is_exponential_backoff_with_full_jitter(store: Settings) -> None:
    policy = redis_conn.connect(store, "lookup").get_retry()
    assert policy is not None and policy._retries == store.redis_retries == 2
    draws = [policy._backoff.compute(4) for _ in range(200)]  # uniform in [0, min(cap, base*16)]
    assert min(draws) >= 0 and max(draws) <= min(
        redis_conn.RETRY_CAP_S, 16 * redis_conn.RETRY_BASE_S
    )
    assert len(set(draws)) > 100  # jittered, not a constant delay
