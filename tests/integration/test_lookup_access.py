"""Who may read what over HTTP (issue 16): per-team API keys (hashed, rotated without a restart),
per-team features and batch rights (403 naming the feature), per-team quotas (429 +
Retry-After), the team on metrics and access-log lines without user ids or keys, HTTPS and
client certificates. The service runs as a real process on a real Redis of its own."""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.lookupkit import T0, password_env, sample_events, start_redis, write_events
from tests.integration.servicekit import Service
from tests.integration.test_redis_tls import make_ca, make_leaf
from userpulse.lookup.service.teams import hash_key, new_key
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
USER = "user-7f3a-private-id"  # must never appear in a log line
RANKING_KEY = "up_canary-ranking-key-0c6e2a91-never-log-me"
GROWTH_KEY, GROWTH_HASH = new_key()


def _teams(growth_hashes: list[str]) -> str:
    return json.dumps(
        {
            "teams": {
                "ranking": {
                    "api_key_sha256": [hash_key(RANKING_KEY)],
                    "features": ["*"],
                    "batch": True,
                    "max_batch_users": 2,
                    "requests_per_s": 1000,
                },
                "growth": {
                    "api_key_sha256": growth_hashes,
                    "features": ["count_click_1m", "last_seen"],
                    "batch": False,
                    "requests_per_s": 3,
                },
            }
        }
    )


def _next_second() -> None:
    time.sleep(1.1)  # a team's window is 1 s from its first request in it


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def store() -> Iterator[Settings]:
    with start_redis() as s:
        write_events(s, sample_events(USER) + sample_events("u2"))
        yield s


def test_keys_rights_quotas_rotation_metrics_and_logs(store: Settings, tmp_path: Path) -> None:
    teams = tmp_path / "teams.json"
    teams.write_text(_teams([GROWTH_HASH]))
    log = tmp_path / "svc.log"
    env = {**password_env(store), "USERPULSE_SERVICE_TEAMS_FILE": str(teams)}
    svc = Service(store, log, env=env)
    q = f"as_of_ms={T0 + 9_999}"
    seen: list[str] = []  # every response body and header value, searched for secrets below
    sent = svc.request_full

    def recording(*args: Any, **kwargs: Any) -> tuple[int, Any, str, dict[str, str]]:
        got = sent(*args, **kwargs)
        seen.extend([got[2], *got[3].values()])
        return got

    svc.request_full = recording  # type: ignore[method-assign]
    try:
        # authentication: /v1 needs a key, health does not
        status, body, _, hdrs = svc.request_full("GET", f"/v1/users/{USER}/features?{q}")
        assert status == 401 and body["error"]["code"] == "unauthenticated"
        assert hdrs["www-authenticate"] == 'Bearer realm="userpulse"'
        assert svc.get(f"/v1/features?{q}", _bearer("up_not-a-key"))[0] == 401
        assert svc.get("/healthz")[0] == 200
        # ranking: every feature, batches of at most 2 users
        ranking = _bearer(RANKING_KEY)
        status, body, _ = svc.get(f"/v1/users/{USER}/features?{q}", ranking)
        assert status == 200 and body["features"]["count_click_1m"]["value"] == 3
        batch = {"user_ids": [USER, "u2"], "as_of_ms": T0 + 9_999}
        status, body, _ = svc.request("POST", "/v1/features/batch", batch, ranking)
        assert status == 200 and body["users"]["u2"]["count_hover_1m"]["value"] == 2
        three = {**batch, "user_ids": [USER, "u2", "u3"]}
        status, body, _ = svc.request("POST", "/v1/features/batch", three, ranking)
        assert status == 403 and body["error"] == {
            "code": "forbidden",
            "message": "team ranking may look up at most 2 users per batch, got 3",
        }
        # growth: two features, no batch; a request outside them is refused whole, naming them
        growth = _bearer(GROWTH_KEY)
        _next_second()
        status, body, _ = svc.get(f"/v1/users/{USER}/features?features=last_seen&{q}", growth)
        assert status == 200 and body["features"]["last_seen"]["value"] == T0 + 9_000
        path = f"/v1/users/{USER}/features?features=count_click_1m,count_hover_1h&{q}"
        status, body, _ = svc.get(path, growth)
        assert status == 403 and body["error"] == {
            "code": "forbidden_feature",
            "message": "team growth may not read count_hover_1h",
            "details": [{"feature": "count_hover_1h"}],
        }
        status, body, _ = svc.get(f"/v1/users/{USER}/features?{q}", growth)  # all = too many
        assert status == 403 and "count_scroll_1m" in body["error"]["message"]
        _next_second()  # growth may send 3 requests per second
        status, body, _ = svc.request("POST", "/v1/features/batch", batch, growth)
        assert status == 403 and body["error"]["message"] == (
            "team growth may not send batch lookups"
        )
        # quota: 3 requests per second for growth; ranking is not starved meanwhile
        _next_second()
        codes, retry = [], []
        for _ in range(8):
            s_, _, _, h = svc.request_full("GET", f"/v1/features?{q}", headers=growth)
            codes.append(s_)
            retry += [h["retry-after"]] if s_ == 429 else []
            assert svc.get(f"/v1/features?{q}", ranking)[0] == 200
        assert codes.count(200) <= 6 and codes.count(429) >= 2, codes
        assert all(r.isdigit() and 1 <= int(r) <= 2 for r in retry), retry
        # rotation without a restart: a new key for growth, the old one removed
        new, new_hash = new_key()
        teams.write_text(_teams([new_hash]))
        os.utime(teams, ns=(time.time_ns(), time.time_ns()))
        time.sleep(1.3)  # the file is checked at most once a second
        assert svc.get(f"/v1/features?{q}", growth)[0] == 401
        assert svc.get(f"/v1/features?{q}", _bearer(new))[0] == 200
        # a broken file keeps the teams in force (and is counted)
        teams.write_text("{not json")
        time.sleep(1.3)
        assert svc.get(f"/v1/features?{q}", _bearer(new))[0] == 200
        _, _, metrics = svc.get("/metrics")
    finally:
        svc.stop()
    assert "userpulse_lookup_teams_reload_errors_total 1.0" in metrics
    assert 'userpulse_lookup_requests_total{code="403",endpoint="single",team="growth"} 2.0' in (
        metrics
    )
    assert 'userpulse_lookup_rejected_total{reason="quota_exceeded",team="growth"}' in metrics
    assert 'userpulse_lookup_requests_total{code="401",endpoint="single",team="unknown"}' in (
        metrics
    )
    assert 'userpulse_lookup_feature_status_total{status="present",team="ranking"}' in metrics
    text = log.read_text()
    assert "team=growth endpoint=single method=GET status=403" in text
    assert "team=ranking endpoint=batch method=POST status=200" in text
    assert "users=2 features=46" in text
    assert len(seen) > 40
    for secret in (RANKING_KEY, GROWTH_KEY, new, hash_key(RANKING_KEY), GROWTH_HASH):
        assert secret not in text and secret not in metrics
        assert all(secret not in s for s in seen)
    assert USER not in text and USER not in metrics  # (bodies carry the user id, by design)


def test_https_with_client_certificates(store: Settings, tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "ca")
    make_leaf(tmp_path, "server", ca, server=True)
    make_leaf(tmp_path, "client", ca, server=False)
    other = make_ca(tmp_path, "other-ca")
    make_leaf(tmp_path, "stranger", other, server=False)
    env = {
        **password_env(store),
        "USERPULSE_SERVICE_TLS_CERT_FILE": str(tmp_path / "server.crt"),
        "USERPULSE_SERVICE_TLS_KEY_FILE": str(tmp_path / "server.key"),
        "USERPULSE_SERVICE_TLS_CLIENT_CA_FILE": str(tmp_path / "ca.crt"),
    }

    def ctx(client: str | None) -> ssl.SSLContext:
        c = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        if client:
            c.load_cert_chain(tmp_path / f"{client}.crt", tmp_path / f"{client}.key")
        return c

    svc = Service(store, tmp_path / "tls.log", env=env, tls=ctx("client"))
    try:
        q = f"features=count_click_1m&as_of_ms={T0 + 9_999}"
        status, body, _ = svc.get(f"/v1/users/u2/features?{q}")
        assert status == 200 and body["features"]["count_click_1m"]["value"] == 3
        url = f"https://127.0.0.1:{svc.port}/healthz"
        for refused in (ctx(None), ctx("stranger")):  # no client certificate, an unknown CA
            with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                urllib.request.urlopen(url, timeout=5, context=refused).read()
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):  # plain HTTP
            urllib.request.urlopen(f"http://127.0.0.1:{svc.port}/healthz", timeout=5).read()
    finally:
        svc.stop()
