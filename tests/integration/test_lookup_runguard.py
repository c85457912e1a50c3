"""Lookups on a Redis that restarted before the job noticed (issue 12, the stale window after a
restart from an older snapshot; :mod:`userpulse.lookup.runguard`): a real Redis of the test's own is
restarted (it loads its data back with the old server's run id recorded in
``up:v1:run``, as a snapshot would). Until the run id is recorded again (what the job's store
watch does), the lookup clients, sync and asyncio, answer ``rewriting`` for every stored user,
and the HTTP service too; then the stored values again. The control, a client without the
run-id check, answers the stored values as ``present`` all along. The end-to-end test with the
job (frozen meanwhile) is ``test_store_faults.py``'s restart from an older snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from tests.integration.lookupkit import T0, password_env, sample_events, start_redis, write_events
from tests.integration.servicekit import Service
from userpulse import redis_conn
from userpulse.layout import RUN_KEY
from userpulse.lookup import FeatureClient, FeatureResult, Status
from userpulse.lookup.aio import AsyncFeatureClient
from userpulse.settings import Settings
from userpulse.stack.redis_server import RedisServer

pytestmark = pytest.mark.integration
AS_OF = T0 + 9_999
FEATURE = "count_click_1m"


@pytest.fixture(scope="module")
def store() -> Iterator[Settings]:
    with start_redis() as s:
        write_events(s, sample_events("u1"))
        admin = redis_conn.connect(s, "admin")
        admin.set(RUN_KEY, _run_id(s))  # the job's store watch checked this server
        yield s


def _run_id(s: Settings) -> str:
    return str(redis_conn.connect(s, "admin").info("server")["run_id"])


def _restart(s: Settings) -> None:
    """Stop (SIGTERM: the append-only file is flushed) and start: the data comes back, the run
    id is new."""
    server = RedisServer(s)
    server.stop()
    server.start()


def _sync(client: FeatureClient) -> FeatureResult:
    return client.get("u1", [FEATURE], as_of=AS_OF)[FEATURE]


async def _async(s: Settings | str) -> FeatureResult:
    """One lookup through an asyncio client of ``s``'s settings, or built from the URL ``s``."""
    if isinstance(s, str):
        client = AsyncFeatureClient.from_url(s)
    else:
        client = AsyncFeatureClient.from_settings(s)
    try:
        return (await client.get("u1", [FEATURE], as_of=AS_OF))[FEATURE]
    finally:
        await client.aclose()


def test_a_restarted_server_reads_rewriting_until_the_job_records_it(
    store: Settings, tmp_path: Path
) -> None:
    guarded = FeatureClient.from_settings(store)
    control = FeatureClient(redis_conn.connect(store, "lookup"))  # no run-id check
    assert _sync(guarded) == _sync(control)
    assert _sync(guarded).status is Status.PRESENT and _sync(guarded).value == 3
    svc = Service(store, tmp_path / "svc.log", env=password_env(store))
    path = f"/v1/users/u1/features?features={FEATURE}&as_of_ms={AS_OF}"
    try:
        assert svc.get(path)[1]["features"][FEATURE]["status"] == "present"
        _restart(store)
        # the same clients reconnect; the server's run id is not the recorded one
        assert _sync(guarded).status is Status.REWRITING
        assert asyncio.run(_async(store)).status is Status.REWRITING
        status, body, _ = svc.get(path)
        assert status == 200 and body["features"][FEATURE]["status"] == "rewriting", body
        got = _sync(control)  # the control: the values as present (stale after a snapshot)
        assert got.status is Status.PRESENT and got.value == 3
        assert _sync(guarded).status is Status.REWRITING  # each lookup asks again: still old
        redis_conn.connect(store, "admin").set(RUN_KEY, _run_id(store))  # the job noticed
        assert _sync(guarded).status is Status.PRESENT and _sync(guarded).value == 3
        assert asyncio.run(_async(store)).status is Status.PRESENT
        assert svc.get(path)[1]["features"][FEATURE]["status"] == "present"
    finally:
        svc.stop()


def test_without_a_recorded_run_id_the_check_is_off(store: Settings) -> None:
    """A store the job has not checked yet (or a job older than the record): answered as
    before, also right after a restart."""
    redis_conn.connect(store, "admin").delete(RUN_KEY)
    client = FeatureClient.from_settings(store)
    _restart(store)
    assert _sync(client).status is Status.PRESENT


def _url(s: Settings) -> str:
    """``redis://lookup-user:password@host:port/db`` of the test store."""
    kw = redis_conn.client_kwargs(s, "lookup")
    auth = f"{quote(kw['username'])}:{quote(kw['password'])}@" if kw.get("password") else ""
    return f"redis://{auth}{kw['host']}:{kw['port']}/{kw['db']}"


def test_clients_from_a_url_have_the_same_check(store: Settings) -> None:
    """``FeatureClient.from_url`` / ``AsyncFeatureClient.from_url`` answer ``rewriting`` after a
    restart the job has not recorded, like :meth:`FeatureClient.from_settings`; the control, a
    client on the same URL without the check, answers the stored value as present."""
    admin = redis_conn.connect(store, "admin")
    admin.set(RUN_KEY, _run_id(store))  # the job's store watch checked this server
    url = _url(store)
    guarded = FeatureClient.from_url(url)
    control = FeatureClient(redis.Redis.from_url(url))
    assert _sync(guarded).status is Status.PRESENT and _sync(guarded).value == 3
    _restart(store)
    assert _sync(guarded).status is Status.REWRITING
    assert asyncio.run(_async(url)).status is Status.REWRITING
    got = _sync(control)
    assert got.status is Status.PRESENT and got.value == 3  # the control: no check
    redis_conn.connect(store, "admin").set(RUN_KEY, _run_id(store))  # the job noticed
    assert _sync(guarded).status is Status.PRESENT
    assert asyncio.run(_async(url)).status is Status.PRESENT
