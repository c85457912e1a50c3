"""Access control on a real Redis (issue 5, design section 7); since issue 16 a Redis of its own,
started by the project's ``RedisServer`` with the ACL users (no Kafka needed).

The lookup user reads the feature keys and nothing else; the job user can do what the writer
needs and nothing more; connections without credentials can do nothing; credentials never leak.
Also: the sync and asyncio clients answer the same as the reference values written.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis

from tests.integration.jobkit import flush_redis
from tests.integration.lookupkit import T0, sample_events, start_redis, write_events
from userpulse import layout, redis_conn
from userpulse.lookup import FeatureClient, Status, StoreUnavailable
from userpulse.lookup.aio import AsyncFeatureClient
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
CANARY = "canary-5b1d0e77-never-log-me"


@pytest.fixture(scope="module")
def stack() -> Iterator[Settings]:
    """This module's Redis (the name kept from when it was the whole stack's)."""
    with start_redis() as s:
        yield s


@pytest.fixture
def admin(stack: Settings) -> Iterator[redis.Redis]:
    r = flush_redis(stack)
    r.set("other:secret", "x")
    yield r
    r.flushdb()


def _denied(client: redis.Redis, *cmd: str) -> str:
    with pytest.raises(redis.exceptions.NoPermissionError) as e:
        client.execute_command(*cmd)
    return str(e.value)


def test_lookup_user_can_only_read_feature_keys(stack: Settings, admin: redis.Redis) -> None:
    write_events(stack, sample_events("u1"))
    key, pkey = layout.user_key("u1"), layout.profile_key("u1")
    r = redis_conn.connect(stack, "lookup")
    assert r.ping() is True
    assert len(r.hgetall(key)) > 0 and r.get(pkey) is not None
    assert "no permissions to run the 'hset'" in _denied(r, "HSET", key, "ls", "1")
    assert "'set'" in _denied(r, "SET", pkey, "x")
    assert "'del'" in _denied(r, "DEL", key)
    assert "'unlink'" in _denied(r, "UNLINK", key)
    assert "'expire'" in _denied(r, "EXPIRE", key, "1")
    assert "'eval'" in _denied(r, "EVAL", "return 1", "0")
    assert "'evalsha'" in _denied(r, "EVALSHA", "a" * 40, "0")
    assert "'script|load'" in _denied(r, "SCRIPT", "LOAD", "return 1")
    assert "'keys'" in _denied(r, "KEYS", "*")
    assert "'scan'" in _denied(r, "SCAN", "0")
    assert "'flushall'" in _denied(r, "FLUSHALL")
    assert "'flushdb'" in _denied(r, "FLUSHDB")
    assert "'config|get'" in _denied(r, "CONFIG", "GET", "*")
    assert "'config|set'" in _denied(r, "CONFIG", "SET", "save", "")
    assert "'acl|whoami'" in _denied(r, "ACL", "WHOAMI")
    assert "access one of the keys" in _denied(r, "GET", "other:secret")
    assert "access one of the keys" in _denied(r, "HGETALL", "other:secret")
    # nothing changed
    assert admin.get("other:secret") == b"x" and admin.exists(key, pkey) == 2


def test_job_user_runs_the_writer_and_nothing_else(stack: Settings, admin: redis.Redis) -> None:
    write_events(
        stack, sample_events("u2")
    )  # userpulse.sinks.seed as the job user: HSET, SET, EXPIRE
    got = FeatureClient.from_settings(stack).get(
        "u2", ["count_click_1m", "count_hover_1m", "sum_dwell_hover_1m", "last_seen"], T0 + 9_999
    )
    assert {n: r.value for n, r in got.items()} == {
        "count_click_1m": 3,
        "count_hover_1m": 2,
        "sum_dwell_hover_1m": 350,
        "last_seen": T0 + 9_000,
    }
    assert got["count_click_1m"].newest_event_time_ms == T0 + 9_000  # newest event of the tiles
    r = redis_conn.connect(stack, "job")
    assert 0 < admin.ttl(layout.user_key("u2")) <= layout.ttl_s()
    assert "'keys'" in _denied(r, "KEYS", "*")
    assert "'flushall'" in _denied(r, "FLUSHALL")
    assert "'config|get'" in _denied(r, "CONFIG", "GET", "*")
    assert "'del'" in _denied(r, "DEL", layout.user_key("u2"))
    assert "access one of the keys" in _denied(r, "SET", "other:secret", "y")
    assert "access one of the keys" in _denied(r, "HSET", "elsewhere", "f", "v")
    # a script runs with the caller's permissions: no way around the key prefix
    with pytest.raises(redis.exceptions.ResponseError, match="(?i)no permissions|access"):
        r.eval("return redis.call('GET', KEYS[1])", 1, "other:secret")
    assert admin.get("other:secret") == b"x"


def test_no_credentials_no_access(stack: Settings, admin: redis.Redis) -> None:
    anon = redis.Redis(host=stack.redis_host, port=stack.redis_port)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anon.get("other:secret")
    users = set(admin.acl_users())
    assert users == {"default", "userpulse-job", "userpulse-lookup", "userpulse-admin"}
    assert "off" in admin.acl_getuser("default")["flags"]


def test_sync_and_async_clients_agree(stack: Settings, admin: redis.Redis) -> None:
    for u in ("a", "b", "ü/{x}*"):
        write_events(stack, sample_events(u))
    users = ["a", "b", "ü/{x}*", "nobody"]
    sync = FeatureClient.from_settings(stack).get_many(users, as_of=T0 + 9_999)

    async def run() -> dict[str, dict[str, object]]:
        c = AsyncFeatureClient.from_settings(stack)
        try:
            return await c.get_many(users, as_of=T0 + 9_999)
        finally:
            await c.aclose()

    assert asyncio.run(run()) == sync
    assert sync["ü/{x}*"]["count_click_1m"].value == 3
    assert all(r.status is Status.NOT_FOUND for r in sync["nobody"].values())
    assert all(r.status is Status.PRESENT for r in sync["a"].values())


def test_wrong_password_is_a_clear_error_and_never_leaks(stack: Settings) -> None:
    s = Settings(**{**stack.model_dump(), "redis_lookup_password": CANARY})
    with pytest.raises(StoreUnavailable) as e:
        FeatureClient.from_settings(s).get("u1")
    assert "refused the lookup user's credentials" in str(e.value)
    assert CANARY not in str(e.value) and CANARY not in repr(e.value) and CANARY not in repr(s)
    # the CLI: password from the environment, error on stderr, nothing leaks
    env = {
        **os.environ,
        "USERPULSE_HOME": str(stack.home),
        "USERPULSE_REDIS_PORT": str(stack.redis_port),
        "USERPULSE_REDIS_LOOKUP_PASSWORD": CANARY,
    }
    done = subprocess.run(
        [sys.executable, "-m", "userpulse", "features", "get", "u1", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2  # an expected error: one line, exit 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert "refused the lookup user's credentials" in done.stderr
    assert CANARY not in done.stdout + done.stderr
