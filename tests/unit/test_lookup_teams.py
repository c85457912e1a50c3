"""The teams file of the HTTP service (issue 16): parsing, rights, key hashing, reloads."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from userpulse.features import FEATURE_NAMES
from userpulse.lookup.service.guard import Denied, Guard, endpoint_of
from userpulse.lookup.service.teams import TeamRegistry, hash_key, new_key, parse_teams

H1, H2 = hash_key("k1"), hash_key("k2")


def _doc(**team: object) -> str:
    return json.dumps({"teams": {"t": {"api_key_sha256": [H1], **team}}})


def test_hash_and_new_key() -> None:
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    key, h = new_key()
    assert key.startswith("up_") and len(key) == 46 and h == hash_key(key)


def test_parse_rights() -> None:
    teams = parse_teams(_doc(features=["last_seen"], batch=True, requests_per_s=5))
    t = teams[H1]
    assert (t.name, t.features, t.batch, t.requests_per_s) == ("t", {"last_seen"}, True, 5)
    assert t.forbidden(["last_seen"]) == []
    assert t.forbidden(["count_click_1m", "last_seen", "count_click_1m"]) == ["count_click_1m"]
    assert t.forbidden(None) == [n for n in FEATURE_NAMES if n != "last_seen"]
    everything = parse_teams(_doc())[H1]  # default: every feature, no batch, no quota
    assert everything.forbidden(None) == [] and not everything.batch
    assert everything.requests_per_s is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ('{"teams": {}}', "expected"),
        (_doc(features=["nope"]), "unknown features ['nope']"),
        (_doc(colour="red"), "unknown fields ['colour']"),
        (_doc(requests_per_s=0), "requests_per_s must be a positive integer"),
        (json.dumps({"teams": {"t": {"api_key_sha256": ["k1"]}}}), "64 hex digits"),
        (
            json.dumps({"teams": {"a": {"api_key_sha256": [H1]}, "b": {"api_key_sha256": [H1]}}}),
            "also given to 'a'",
        ),
    ],
)
def test_parse_errors_name_the_field_never_a_value(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as e:
        parse_teams(text)
    assert H1 not in str(e.value)


def test_registry_reloads_a_changed_file_and_keeps_teams_on_a_broken_one(tmp_path: Path) -> None:
    f = tmp_path / "teams.json"
    f.write_text(_doc())
    now = [0.0]
    errors: list[str] = []
    reg = TeamRegistry(
        f, reload_interval_s=1.0, on_reload_error=errors.append, clock=lambda: now[0]
    )
    assert reg.team_of("k1") is not None and reg.team_of("k2") is None and reg.team_of(None) is None
    f.write_text(json.dumps({"teams": {"t": {"api_key_sha256": [H2]}}}))
    os.utime(f, ns=(1, 2))
    assert reg.team_of("k1") is not None  # not checked again within the interval
    now[0] = 1.5
    assert reg.team_of("k1") is None and reg.team_of("k2") is not None  # rotated
    f.write_text("{broken")
    now[0] = 3.0
    assert reg.team_of("k2") is not None and errors == [f"teams file {f}: not JSON (line 1)"]


def test_authorize_and_endpoints() -> None:
    t = parse_teams(_doc(features=["last_seen"], batch=True, max_batch_users=2))[H1]
    Guard.authorize(t, ["last_seen"], 2)
    with pytest.raises(Denied, match="at most 2 users per batch, got 3") as e:
        Guard.authorize(t, ["last_seen"], 3)
    assert e.value.status == 403
    with pytest.raises(Denied, match="may not read first_seen") as e:
        Guard.authorize(t, ["first_seen", "last_seen"], None)
    assert e.value.code == "forbidden_feature" and e.value.details == [{"feature": "first_seen"}]
    assert endpoint_of("/v1/users/a%2Fb/features") == "single"
    assert endpoint_of("/v1/users/secret-user") == "other"  # never a path in a label or log
