"""Lookup request validation, the checked-in OpenAPI document, ACL rules and secret settings:
no services needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests import REPO_ROOT
from userpulse import redis_acl, redis_conn
from userpulse.features import FEATURE_NAMES
from userpulse.lookup.errors import InvalidRequest, InvalidUserId, TooManyUsers, UnknownFeature
from userpulse.lookup.request import plan, validate_user_id
from userpulse.lookup.service.server import openapi_json
from userpulse.settings import Settings

CANARY = "canary-7f3a9c1e-do-not-log"


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(_env_file=None, home=tmp_path, **kw)  # type: ignore[call-arg, arg-type]


@pytest.mark.parametrize(
    ("user_id", "message"),
    [
        ("", "1..128 bytes"),
        ("x" * 129, "got 129"),
        ("é" * 65, "got 130"),  # 2 bytes each: 130 bytes although 65 characters
        ("a\udc80b", "lone surrogate"),
        (42, "must be a string"),
    ],
)
def test_bad_user_ids_are_rejected_with_the_reason(user_id: object, message: str) -> None:
    with pytest.raises(InvalidUserId, match=message):
        validate_user_id(user_id)


def test_valid_user_ids_are_kept_byte_exact() -> None:
    for u in ("u1", "x" * 128, "é" * 64, "*?[]{}%", "user with spaces", "\x00nul"):
        assert validate_user_id(u) == u


def test_plan_dedups_users_and_validates_before_io() -> None:
    p = plan(["b", "a", "b"], None, 1_000)
    assert (p.users, p.as_of_ms) == (["b", "a"], 1_000)
    assert p.names == list(FEATURE_NAMES)
    with pytest.raises(UnknownFeature, match="unknown features \\['nope'\\]"):
        plan(["a"], ["nope"], 0)
    with pytest.raises(TooManyUsers, match="3 users in one lookup; at most 2"):
        plan(["a", "b", "c"], None, 0, max_users=2)
    with pytest.raises(InvalidUserId):
        plan("abc", None, 0)  # a str is not a list of ids
    assert issubclass(UnknownFeature, ValueError) and issubclass(InvalidUserId, InvalidRequest)


def test_checked_in_openapi_document_is_what_the_app_serves() -> None:
    """Regenerate with:
    .venv/bin/python -m userpulse.lookup.service --openapi > docs/openapi.json"""
    checked_in = (REPO_ROOT / "docs" / "openapi.json").read_text()
    assert json.loads(checked_in) == json.loads(openapi_json()), (
        "docs/openapi.json is stale: .venv/bin/python -m userpulse.lookup.service --openapi "
        "> docs/openapi.json"
    )


def test_acl_rules_verbatim(tmp_path: Path) -> None:
    s = _settings(tmp_path, redis_lookup_password="pw-l", redis_job_password="pw-j")
    lines = redis_acl.write_aclfile(s, tmp_path / "users.acl").read_text().splitlines()
    assert lines[0] == "user default off resetkeys ~* resetchannels &* +@all"
    connect = (
        "+auth +hello +select +client|setname +ping +readonly +cluster|slots +cluster|shards "
        "+command +asking"
    )
    lookup = lines[2].split()
    assert lookup[:3] == ["user", "userpulse-lookup", "on"]
    assert lookup[3].startswith("#") and "pw-l" not in lines[2]
    assert " ".join(lookup[4:]) == (
        f"resetkeys ~up:v1:* resetchannels -@all {connect} +hgetall +hget +hmget +hexists +get "
        "+exists +ttl +pttl +info"
    )
    assert " ".join(lines[1].split()[4:]) == (
        f"resetkeys ~up:v1:* resetchannels -@all {connect} +hset +hmget +hget +hgetall +hdel "
        "+get +set +exists +expire +evalsha +eval +script|load +script|exists +info"
    )
    assert lines[3].split()[:3] == ["user", "userpulse-admin", "on"]
    assert lines[3].endswith("~* &* +@all")
    # the admin password was generated into a private file; the configured ones were not written
    assert (tmp_path / "redis" / "credentials" / "admin").stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "redis" / "credentials" / "lookup").exists()
    assert (tmp_path / "users.acl").stat().st_mode & 0o777 == 0o600


def test_password_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    f = redis_acl.password_file(s, "lookup")
    f.parent.mkdir(parents=True)
    f.write_text("secret\n")
    os.chmod(f, 0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        redis_conn.connect(s, "lookup")
    os.chmod(f, 0o600)
    kw = redis_conn.client_kwargs(s, "lookup")
    assert (kw["username"], kw["password"]) == ("userpulse-lookup", "secret")


def test_secrets_are_masked_in_settings_and_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USERPULSE_REDIS_LOOKUP_PASSWORD", CANARY)
    s = Settings(_env_file=None, home=tmp_path)  # type: ignore[call-arg]
    assert s.redis_lookup_password is not None
    assert s.redis_lookup_password.get_secret_value() == CANARY
    client = redis_conn.connect(s, "lookup")
    for text in (repr(s), str(s), s.model_dump_json(), repr(client), str(client)):
        assert CANARY not in text
    assert "**********" in repr(s)


def test_bad_tls_settings_fail_at_start_with_what_to_change(tmp_path: Path) -> None:
    with pytest.raises(
        ValidationError, match="set both redis_tls_cert_file and redis_tls_key_file"
    ):
        (tmp_path / "client.crt").write_text("x")
        _settings(tmp_path, redis_tls=True, redis_tls_cert_file=tmp_path / "client.crt")
    with pytest.raises(ValidationError, match="redis_tls_ca_file\n.*no such file"):
        _settings(tmp_path, redis_tls=True, redis_tls_ca_file=tmp_path / "missing.pem")
    with pytest.raises(ValidationError, match="lookup_max_batch_users"):
        _settings(tmp_path, lookup_max_batch_users=5000)


def test_bad_settings_never_print_secrets(tmp_path: Path) -> None:
    """One line per bad setting, naming it; the canary password in the environment stays out."""
    env = {
        **os.environ,
        "USERPULSE_REDIS_LOOKUP_PASSWORD": CANARY,
        "USERPULSE_REDIS_TLS_CERT_FILE": str(tmp_path / "missing.crt"),
        "USERPULSE_REDIS_PORT": "not-a-port",
    }
    done = subprocess.run(
        [sys.executable, "-m", "userpulse", "features", "get", "u1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "redis_port: Input should be a valid integer" in done.stderr
    assert "redis_tls_cert_file: Value error, no such file" in done.stderr
    assert CANARY not in done.stdout + done.stderr
