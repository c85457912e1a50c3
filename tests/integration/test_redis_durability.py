"""The local Redis keeps its data across a crash: AOF with ``appendfsync everysec`` (issue 12).

A key written more than one second before ``kill -9`` of redis-server is there after the
restart; the control (the same Redis started with ``--appendonly no``, as before issue 12)
comes back empty, so the check sees the loss.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.integration.lookupkit import start_redis
from userpulse import redis_conn
from userpulse.stack.redis_server import RedisServer

pytestmark = pytest.mark.integration


def _survives_kill_9(extra_args: tuple[str, ...]) -> bool:
    """Write a key, wait 1.5 s (one fsync of everysec), kill -9 Redis, restart it: is it there?"""
    with start_redis(extra_args) as s:
        server = RedisServer(s, extra_args=extra_args)
        r = redis_conn.connect(s, "admin")
        r.set("up:test:durable", b"1")
        time.sleep(1.5)
        pid = server.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        while server.pid() is not None:
            time.sleep(0.05)
        server.start()
        return bool(redis_conn.connect(s, "admin").get("up:test:durable") == b"1")


def test_local_redis_runs_with_aof_everysec() -> None:
    with start_redis() as s:
        conf = redis_conn.connect(s, "admin").config_get("append*")
        assert conf["appendonly"] == "yes"
        assert conf["appendfsync"] == "everysec"
        assert (s.home / "redis" / "appendonly").is_dir()


def test_a_write_survives_kill_9_of_redis() -> None:
    assert _survives_kill_9(())


def test_control_without_aof_loses_it() -> None:
    assert not _survives_kill_9(("--appendonly", "no"))
