"""The lookup benchmark module runs end to end (a few hundred requests, not a measurement): the
contract `make bench` relies on, ``bench.lookups.run(settings, users) -> dict``."""

from __future__ import annotations

import json

import pytest

from bench.lookups import run, write_sample_users
from tests.integration.jobkit import flush_redis
from userpulse.settings import Settings

pytestmark = pytest.mark.integration


def test_run_returns_every_scenario(stack: Settings) -> None:
    flush_redis(stack)
    users = write_sample_users(stack, 120)
    out = run(stack, users, duration_s=0.3, rate_per_s=200, batch_rate_per_s=10)
    json.dumps(out)  # JSON-able
    for name in ("client_single", "client_batch100", "http_single", "http_batch100"):
        sc = out[name]
        assert sc["errors"] == 0 and sc["requests"] > 0, (name, sc)
        assert 0 < sc["p50_ms"] <= sc["p99_ms"] <= sc["max_ms"]
        assert sc["closed_loop"]["errors"] == 0 and sc["closed_loop"]["requests"] > 0
    assert out["client_batch100"]["users_per_request"] == 100
    assert out["redis_benchmark_get"]["p50_ms"] > 0
    assert out["breakdown_single"]["merge_one_user"]["p50_ms"] > 0
    assert set(out["meets_targets"]) == {"client_single", "client_batch100", "http_single"}
