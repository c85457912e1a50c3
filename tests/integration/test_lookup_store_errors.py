"""One user's store error is that user's status; ``StoreUnavailable`` only when Redis is gone
(issue 16). A real Redis of its own (the project's ``RedisServer``, ACL users); keys of the wrong
type and a value that is not layout v1 are planted as the admin user."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.clusterkit import free_ports
from tests.integration.lookupkit import (
    T0,
    password_env,
    sample_events,
    start_redis,
    write_events,
)
from tests.integration.servicekit import Service
from userpulse import layout, redis_conn
from userpulse.lookup import FeatureClient, Status, StoreUnavailable
from userpulse.lookup.aio import AsyncFeatureClient
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
USERS = ["u1", "bad-type", "u2", "bad-profile", "bad-tile", "nobody"]
NAMES = ["count_click_1m", "last_seen"]


@pytest.fixture(scope="module")
def store() -> Iterator[Settings]:
    with start_redis() as s:
        write_events(s, sample_events("u1") + sample_events("u2") + sample_events("bad-tile"))
        admin = redis_conn.connect(s, "admin")
        admin.set(layout.user_key("bad-type"), "a string where a hash belongs")
        admin.hset(layout.profile_key("bad-profile"), "x", "a hash where a string belongs")
        # a tile inside the 1 min window that is not a v1 tile value
        admin.hset(layout.user_key("bad-tile"), layout.tile_field(1_000, T0 // 1_000), "garbage")
        yield s


def _check(got: dict[str, dict], errors: dict[str, str]) -> None:
    for u in ("u1", "u2"):
        assert got[u]["count_click_1m"].value == 3
        assert got[u]["last_seen"].value == T0 + 9_000
        assert got[u]["count_click_1m"].status is Status.PRESENT
    assert got["nobody"]["count_click_1m"].status is Status.NOT_FOUND
    for u, start in errors.items():
        for name in NAMES:
            r = got[u][name]
            assert (r.value, r.status, r.newest_event_time_ms) == (None, Status.STORE_ERROR, None)
            assert r.error is not None and r.error.startswith(start), r.error


ERRORS = {
    "bad-type": "up:v1:{bad-type}: ResponseError: WRONGTYPE",
    "bad-profile": "up:v1:{bad-profile}:p: ResponseError: WRONGTYPE",
    "bad-tile": "up:v1:{bad-tile}: StoredValueError: tile value b'garbage' has 1 parts, expected 9",
}


def test_sync_client_answers_the_rest_of_the_batch(store: Settings) -> None:
    got = FeatureClient.from_settings(store).get_many(USERS, NAMES, as_of=T0 + 9_999)
    assert list(got) == USERS
    _check(got, ERRORS)
    one = FeatureClient.from_settings(store).get("bad-type", NAMES, as_of=T0 + 9_999)
    assert one["last_seen"].status is Status.STORE_ERROR


def test_async_client_answers_the_rest_of_the_batch(store: Settings) -> None:
    async def run() -> dict[str, dict]:
        c = AsyncFeatureClient.from_settings(store)
        try:
            return await c.get_many(USERS, NAMES, as_of=T0 + 9_999)
        finally:
            await c.aclose()

    _check(asyncio.run(run()), ERRORS)


def test_service_answers_200_with_the_users_status(store: Settings, tmp_path: Path) -> None:
    svc = Service(store, tmp_path / "svc.log", env=password_env(store))
    try:
        body = {"user_ids": USERS, "features": NAMES, "as_of_ms": T0 + 9_999}
        status, got, _ = svc.request("POST", "/v1/features/batch", body)
        assert status == 200
        assert got["users"]["u1"]["count_click_1m"] == {
            "value": 3,
            "status": "present",
            "newest_event_time_ms": T0 + 9_000,
        }
        bad = got["users"]["bad-type"]["last_seen"]
        assert bad["status"] == "store_error" and bad["value"] is None
        assert bad["error"].startswith(ERRORS["bad-type"])
        status, single, _ = svc.get(f"/v1/users/bad-tile/features?as_of_ms={T0 + 9_999}")
        assert status == 200
        assert single["features"]["count_click_1m"]["error"].startswith(ERRORS["bad-tile"])
        text = svc.get("/metrics")[2]
        assert 'feature_status_total{status="store_error",team="anonymous"}' in text
    finally:
        svc.stop()


def test_store_unavailable_only_when_redis_cannot_be_reached(store: Settings) -> None:
    gone = store.model_copy(update={"redis_port": free_ports(1)[0], "redis_timeout_s": 1.0})
    with pytest.raises(StoreUnavailable, match=r"unavailable: ConnectionError"):
        FeatureClient.from_settings(gone).get_many(["u1"], NAMES)
    wrong = store.model_copy(update={"redis_lookup_password": None, "home": store.home / "none"})
    with pytest.raises(StoreUnavailable):  # the default user is off: refused, not answered
        FeatureClient.from_settings(wrong).get("u1", NAMES)
