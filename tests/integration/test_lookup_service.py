"""The HTTP lookup service as a real process on a real Redis (issue 5; since issue 16 a Redis of
its own, started by the project's ``RedisServer`` with the ACL users: no Kafka needed).

Single and batch lookups with real values, the error contract, health / readiness, metrics, the
checked-in OpenAPI document against the served one, schemathesis against the running service,
Redis down, and a wrong password that never shows up anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.result import Err

from tests import REPO_ROOT
from tests.integration.lookupkit import (
    T0,
    password_env,
    sample_events,
    start_redis,
    write_events,
)
from tests.integration.servicekit import Service, free_port
from userpulse.features import FEATURE_NAMES
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
OPENAPI = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
CANARY = "canary-0c6e2a91-never-log-me"
ODD_USER = "ü/{x}* ?#%"


@pytest.fixture(scope="module")
def stack() -> Iterator[Settings]:
    """This module's Redis (the name kept from when it was the whole stack's)."""
    with start_redis() as s:
        yield s


@pytest.fixture(scope="module")
def service(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    write_events(stack, sample_events("u1") + sample_events(ODD_USER))
    svc = Service(stack, tmp_path_factory.mktemp("svc") / "service.log", env=password_env(stack))
    yield svc
    svc.stop()


def _pct(user: str) -> str:
    from urllib.parse import quote

    return quote(user, safe="")


def test_single_lookup_values(service: Service) -> None:
    q = f"features=count_click_1m,sum_dwell_hover_1m,last_seen&as_of_ms={T0 + 9_999}"
    status, body, _ = service.get(f"/v1/users/u1/features?{q}")
    assert status == 200
    assert body == {
        "user_id": "u1",
        "as_of_ms": T0 + 9_999,
        "features": {
            "count_click_1m": {
                "value": 3,
                "status": "present",
                "newest_event_time_ms": T0 + 9_000,
            },
            "sum_dwell_hover_1m": {
                "value": 350,
                "status": "present",
                "newest_event_time_ms": T0 + 9_000,
            },
            "last_seen": {
                "value": T0 + 9_000,
                "status": "present",
                "newest_event_time_ms": T0 + 9_000,
            },
        },
    }
    status, body, _ = service.get(f"/v1/users/{_pct(ODD_USER)}/features?as_of_ms={T0 + 9_999}")
    assert status == 200 and body["user_id"] == ODD_USER
    assert list(body["features"]) == list(FEATURE_NAMES)  # every feature, catalogue order
    assert body["features"]["count_hover_1m"]["value"] == 2


def test_batch_lookup(service: Service) -> None:
    # as of T0 the 5 s tile [T0, T0 + 5 s) is in the window: 3 clicks, newest event at T0 + 4 s
    req = {"user_ids": ["u1", "nobody", "u1"], "features": ["count_click_5m"], "as_of_ms": T0}
    status, body, _ = service.request("POST", "/v1/features/batch", req)
    assert status == 200
    assert body == {
        "as_of_ms": T0,
        "users": {
            "u1": {
                "count_click_5m": {
                    "value": 3,
                    "status": "present",
                    "newest_event_time_ms": T0 + 4_000,
                }
            },
            "nobody": {
                "count_click_5m": {
                    "value": None,
                    "status": "not_found",
                    "newest_event_time_ms": None,
                }
            },
        },
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "says"),
    [
        ("GET", "/v1/users/u1/features?features=nope", None, 400, "unknown_feature", "nope"),
        ("GET", f"/v1/users/{'x' * 129}/features", None, 422, "invalid_user_id", "got 129"),
        ("GET", "/v1/users/%FF%FE/features", None, 422, "invalid_user_id", "UTF-8"),
        ("GET", "/v1/users/u1/features?as_of_ms=-1", None, 422, "invalid_request", "as_of_ms"),
        ("GET", "/v1/users/u1/features?as_of_ms=abc", None, 422, "invalid_request", "integer"),
        ("POST", "/v1/features/batch", {"user_ids": []}, 422, "invalid_request", "user_ids"),
        ("POST", "/v1/features/batch", {"user_ids": ["u"] * 1001}, 422, "invalid_request", "1000"),
        ("POST", "/v1/features/batch", {"user_ids": [""]}, 422, "invalid_user_id", "1..128"),
        ("POST", "/v1/features/batch", {"user_ids": ["u"], "x": 1}, 422, "invalid_request", "x"),
        (
            "POST",
            "/v1/features/batch",
            {"user_ids": ["u"], "features": ["n"]},
            400,
            "unknown_",
            "n",
        ),
        ("GET", "/v2/nothing", None, 404, "not_found", "Not Found"),
        ("DELETE", "/v1/features", None, 405, "method_not_allowed", "Not Allowed"),
    ],
)
def test_errors_are_json_with_what_was_wrong(
    service: Service, method: str, path: str, body: object, status: int, code: str, says: str
) -> None:
    got, parsed, text = service.request(method, path, body)
    assert got == status, text
    assert parsed["error"]["code"].startswith(code), parsed
    assert says in parsed["error"]["message"] + json.dumps(parsed["error"].get("details")), parsed


def test_health_readiness_metrics_and_openapi(service: Service) -> None:
    assert service.get("/healthz")[:2] == (200, {"status": "ok"})
    assert service.get("/readyz")[:2] == (200, {"status": "ok"})
    status, served, _ = service.get("/openapi.json")
    assert status == 200 and served == OPENAPI
    service.get("/v1/users/u1/features")
    service.get("/v1/users/u1/features?features=nope")
    status, _, text = service.get("/metrics")
    assert status == 200
    bucket = 'userpulse_lookup_request_duration_seconds_bucket{endpoint="single",le="0.001",'
    assert bucket + 'team="anonymous"}' in text  # no teams file: every caller is "anonymous"
    assert 'userpulse_lookup_requests_total{code="400",endpoint="single",team="anonymous"}' in text
    assert 'userpulse_lookup_feature_status_total{status="present",team="anonymous"}' in text


def test_each_worker_freezes_its_start_up_heap(stack: Settings) -> None:
    """The app's start-up (its lifespan, run by every uvicorn worker) moves the objects alive
    then out of the cyclic collector's reach, and a lookup after it still answers: a full
    collection no longer walks the ~73,000 start-up objects (docs/lookup.md, "The service's
    tail"). In-process, so the collector's own count is read."""
    import gc

    from starlette.testclient import TestClient

    from userpulse.lookup.service import create_app

    write_events(stack, sample_events("u-frozen"))
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        with TestClient(create_app(stack)) as http:
            frozen = gc.get_freeze_count()
            got = http.get("/v1/users/u-frozen/features", params={"as_of_ms": T0 + 9_999})
    finally:
        gc.unfreeze()
    assert frozen > 10_000  # the imported modules, the app and its client
    assert got.status_code == 200
    assert got.json()["features"]["count_click_1m"]["value"] == 3


def test_redis_down_is_503_and_health_stays_up(stack: Settings, tmp_path: Path) -> None:
    dead = stack.model_copy(update={"redis_port": free_port()})
    svc = Service(dead, tmp_path / "down.log", env=password_env(stack))
    try:
        assert svc.get("/healthz")[0] == 200
        status, body, _ = svc.get("/readyz")
        assert status == 503 and body["error"]["code"] == "store_unavailable"
        assert f"127.0.0.1:{dead.redis_port} unavailable" in body["error"]["message"]
        status, body, _ = svc.get("/v1/users/u1/features")
        assert status == 503 and body["error"]["code"] == "store_unavailable"
    finally:
        svc.stop()


def test_wrong_password_never_leaks(stack: Settings, tmp_path: Path) -> None:
    log = tmp_path / "canary.log"
    svc = Service(
        stack, log, env={**password_env(stack), "USERPULSE_REDIS_LOOKUP_PASSWORD": CANARY}
    )
    try:
        seen = [svc.get(p)[2] for p in ("/readyz", "/v1/users/u1/features", "/metrics")]
        assert "refused the lookup user's credentials" in seen[0]
    finally:
        svc.stop()
    assert all(CANARY not in s for s in seen)
    assert CANARY not in log.read_text()


schema = schemathesis.openapi.from_dict(OPENAPI)


def _operations() -> list[Any]:
    """The description's operations (an operation schemathesis cannot read fails collection)."""
    ops = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        ops.append(result.ok())
    return ops


# One pytest item per operation, each with its own node id: schema.parametrize() gives all its
# items the same id, and pytest-xdist (`make test`) keeps one item per id, so it ran only one of
# the six operations.
OPERATIONS = _operations()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_openapi_contract_against_running_service(operation: Any, service: Service) -> None:
    """Every response conforms to the checked-in description (status codes, content types,
    bodies) and no request makes the service fail (5xx). Schema-valid requests may still be
    refused: an unknown feature name is a documented 400, so positive_data_acceptance is off."""

    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=service.base_url, excluded_checks=[positive_data_acceptance]
        )

    check()


def test_every_operation_of_the_description_is_tested() -> None:
    """The contract test's items cover the description's paths and methods, one id each."""
    described = {
        f"{method.upper()} {path}" for path, item in OPENAPI["paths"].items() for method in item
    }
    labels = [op.label for op in OPERATIONS]
    assert sorted(labels) == sorted(described) and len(set(labels)) == len(labels) == 6
