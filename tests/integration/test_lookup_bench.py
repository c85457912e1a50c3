"""The lookup benchmark module runs end to end (a few hundred requests, not a measurement): the
contract `make bench` relies on, ``bench.lookups.run(settings, users) -> dict``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.lookup_sample import write_sample_users
from bench.lookups import run
from tests.integration.lookupkit import start_redis

pytestmark = pytest.mark.integration


def test_run_returns_every_scenario(tmp_path: Path) -> None:
    with start_redis() as stack:
        users = write_sample_users(stack, 120)
        out = run(
            stack,
            users,
            duration_s=0.3,
            rate_per_s=200,
            batch_rate_per_s=10,
            sweep_s=0.2,
            plot_path=tmp_path / "latency.png",
        )
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
    assert out["breakdown_single"]["merge_100_users"]["p50_ms"] > 0
    assert out["breakdown_single"]["merge_speedup_p50"] > 0
    assert [p["rate_per_s"] for p in out["sweeps"]["http_single"]] == [250, 500, 1000, 2000, 3000]
    # Past saturation the service sheds requests with 503 at its deadline (counted as ``shed``);
    # any other non-200 answer is an error.
    points = [(k, p) for k, pts in out["sweeps"].items() for p in pts]
    assert all(p["errors"] == 0 and p["shed"] <= p["requests"] for _, p in points), points
    assert out["service"]["workers"] == 2
    assert (tmp_path / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
