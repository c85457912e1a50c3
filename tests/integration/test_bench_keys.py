"""The bench deletes its synthetic users' keys before each run, and nothing else (bench/steps.py):
without it a run continued the profiles the runs before it had written."""

from __future__ import annotations

import pytest

from bench.steps import delete_synthetic_users
from userpulse import redis_conn
from userpulse.settings import Settings

pytestmark = pytest.mark.integration


def test_only_the_synthetic_users_keys_are_deleted(stack: Settings) -> None:
    r = redis_conn.connect(stack, "admin")
    synthetic = [f"up:v1:{{u{n:05d}}}" for n in range(2_345)]  # > one UNLINK batch of 1,000
    kept = [
        "up:v1:{alice}", "up:v1:{alice}:p", "up:v1:{u12x}", "up:v1:{u12x}:p", "up:v1:{u}",
        "up:v1:{probe-userpulse-3}", "up:v1:gen", "up:v1:run", "up:v2:{u00001}", "peer:u00001",
    ]  # fmt: skip
    with r.pipeline(transaction=False) as p:
        for key in synthetic:
            p.hset(key, "ls", "1")
            p.set(key + ":p", "1;{}")
        for key in kept:
            p.set(key, "1")
        p.execute()
    assert delete_synthetic_users(stack) == 2 * len(synthetic)
    assert r.exists(*synthetic) == 0
    assert r.exists(*[k + ":p" for k in synthetic]) == 0
    assert r.exists(*kept) == len(kept)
    assert delete_synthetic_users(stack) == 0
    r.delete(*kept)
