"""The local Redis keeps its data across a crash: AOF with ``appendfsync everysec`` (issue 12).

A key written more than one second before ``kill -9`` of redis-server is there after the
restart, and so is a write of a script with two writes (logged as MULTI/EXEC, replayed by Redis's
AOF-loading client under the default user's permissions: redis/redis#14541). The controls: the
same Redis started with ``--appendonly no`` (as before issue 12) comes back empty, and with the
default user's old rule (``-@all``) the script's write is dropped at the restart.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis

from tests.integration.lookupkit import start_redis
from userpulse import redis_acl, redis_conn
from userpulse.stack.redis_server import RedisServer

pytestmark = pytest.mark.integration


def _survives_kill_9(extra_args: tuple[str, ...]) -> bool:
    """Write a key, and one in a transaction as the job's scripts do (Redis logs a script's
    writes as MULTI/EXEC), wait 1.5 s (one fsync of everysec), kill -9 Redis, restart it: are
    both there?"""
    with start_redis(extra_args) as s:
        server = RedisServer(s, extra_args=extra_args)
        r = redis_conn.connect(s, "admin")
        r.set("up:test:durable", b"1")
        job = redis_conn.connect(s, "job")
        job.eval(
            "redis.call('SET', KEYS[1], ARGV[1]); redis.call('EXPIRE', KEYS[1], 600)",
            1,
            "up:v1:{u}:durable",
            b"2",
        )
        time.sleep(1.5)
        pid = server.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        while server.pid() is not None:
            time.sleep(0.05)
        server.start()
        admin = redis_conn.connect(s, "admin")
        return admin.mget("up:test:durable", "up:v1:{u}:durable") == [b"1", b"2"]


def test_local_redis_runs_with_aof_everysec() -> None:
    with start_redis() as s:
        conf = redis_conn.connect(s, "admin").config_get("append*")
        assert conf["appendonly"] == "yes"
        assert conf["appendfsync"] == "everysec"
        rewrite = redis_conn.connect(s, "admin").config_get("auto-aof-rewrite-min-size")
        assert rewrite == {"auto-aof-rewrite-min-size": str(2**30)}  # not Redis's 64 MiB
        assert (s.home / "redis" / "appendonly").is_dir()


def test_a_write_survives_kill_9_of_redis() -> None:
    assert _survives_kill_9(())


def test_control_without_aof_loses_it() -> None:
    assert not _survives_kill_9(("--appendonly", "no"))


def test_control_default_user_without_permissions_drops_script_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rule before issue 12 (``-@all`` for the switched-off default user): Redis's
    AOF-loading client is refused the EXEC of the script's transaction, the write is gone."""
    monkeypatch.setattr(
        redis_acl, "DEFAULT_USER_RULE", "user default off resetkeys resetchannels -@all"
    )
    assert not _survives_kill_9(())


def test_no_connection_without_credentials() -> None:
    with start_redis() as s:
        anonymous = redis.Redis(host=s.redis_host, port=s.redis_port)
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.get("up:test:durable")
