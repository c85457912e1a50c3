"""The single-user fast route against FastAPI's route (issue 16): two real services on one real
Redis, one with ``USERPULSE_SERVICE_FAST_SINGLE=false``, answer the same single-user requests
with the same status, JSON body and headers: values, every error, 401 / 403 of the teams file,
and the queries the fast route leaves to FastAPI."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.integration.lookupkit import T0, password_env, sample_events, start_redis, write_events
from tests.integration.servicekit import Service
from userpulse.lookup.service.teams import hash_key

pytestmark = pytest.mark.integration
ALL_KEY = "up_fastroute-all-0c6e2a91"
SOME_KEY = "up_fastroute-some-0c6e2a91"
ODD_USER = "ü/{x}* ?#%"
AT = f"as_of_ms={T0 + 9_999}"
PATHS = [
    f"/v1/users/u1/features?{AT}",
    f"/v1/users/u1/features?features=count_click_1m,last_seen&{AT}",
    f"/v1/users/u1/features?{AT}&features=count_click_1m%2Csum_dwell_hover_1m",
    f"/v1/users/%C3%BC%2F%7Bx%7D%2A%20%3F%23%25/features?{AT}",
    f"/v1/users/a%2Ffeatures/features?{AT}",
    f"/v1/users/a/features/features?{AT}",
    "/v1/users/u1/features?as_of_ms=0",
    f"/v1/users/nobody/features?{AT}",
    f"/v1/users/u1/features?features=&{AT}",
    f"/v1/users/u1/features?features=nope&{AT}",
    "/v1/users/u1/features?as_of_ms=253402300799999",
    # left to FastAPI by the fast route
    "/v1/users/u1/features?as_of_ms=253402300800000",
    "/v1/users/u1/features?as_of_ms=-1",
    "/v1/users/u1/features?as_of_ms=007",
    "/v1/users/u1/features?as_of_ms=abc",
    f"/v1/users/u1/features?features=nope&features=last_seen&{AT}",
    f"/v1/users/u1/features?x=1&{AT}",
    # user ids the lookup refuses
    f"/v1/users/%FF%FE/features?{AT}",
    f"/v1/users/{'x' * 129}/features?{AT}",
    f"/v1/users//features?{AT}",
]


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Service]]:
    tmp = tmp_path_factory.mktemp("fastroute")
    teams = tmp / "teams.json"
    some = ["count_click_1m", "last_seen"]
    teams.write_text(
        json.dumps(
            {
                "teams": {
                    "all": {"api_key_sha256": [hash_key(ALL_KEY)], "features": ["*"]},
                    "some": {"api_key_sha256": [hash_key(SOME_KEY)], "features": some},
                }
            }
        )
    )
    with start_redis() as s:
        events = [sample_events(u) for u in ("u1", ODD_USER, "a/features")]
        write_events(s, [e for evs in events for e in evs])
        env = {**password_env(s), "USERPULSE_SERVICE_TEAMS_FILE": str(teams)}
        fast = Service(s, tmp / "fast.log", env=env)
        slow = Service(s, tmp / "slow.log", env=env, USERPULSE_SERVICE_FAST_SINGLE="false")
        yield fast, slow
        fast.stop()
        slow.stop()


_HEADERS = ("content-type", "retry-after", "www-authenticate")


def _answer(svc: Service, path: str, key: str | None) -> tuple[int, str, dict[str, str]]:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    status, _, text, hdrs = svc.request_full("GET", path, headers=headers)
    low = {k.lower(): v for k, v in hdrs.items()}
    return status, text, {h: low[h] for h in _HEADERS if h in low}


@pytest.mark.parametrize("key", [ALL_KEY, SOME_KEY, None])
def test_the_fast_route_answers_as_fastapi_does(
    services: tuple[Service, Service], key: str | None
) -> None:
    fast, slow = services
    statuses = []
    for path in PATHS:
        got, want = _answer(fast, path, key), _answer(slow, path, key)
        assert got == want, path
        statuses.append(got[0])
    if key == ALL_KEY:  # the answers are the real ones, not one error repeated
        assert statuses == [200] * 8 + [400, 400, 200, 422, 422, 200, 422, 200, 200, 422, 422, 404]
        assert json.loads(_answer(fast, PATHS[0], key)[1])["features"]["count_click_1m"]["value"]
    elif key == SOME_KEY:
        assert 403 in statuses and 200 in statuses
    else:
        assert set(statuses) == {401}  # the guard refuses before any route
