"""Redis ACL users of userpulse: their rules, their passwords, and the aclfile of the local Redis.

Three roles (design section 7), each its own ACL user, all restricted to what the role needs:

- ``lookup``: the lookup client and the HTTP service. Read-only, keys ``up:v1:*`` only, and
  ``INFO`` (the server's ``run_id`` on each new connection: a restarted store reads
  ``rewriting`` until the job noticed, :mod:`userpulse.lookup.runguard`).
- ``job``: the feature job's writer (the JVM ``io.userpulse.flink.redis.TileWriter``; its
  credentials reach it in the job spec, :mod:`userpulse.jvmspec`). Hash writes, EXPIRE and the
  write script on ``up:v1:*`` only, and ``INFO`` (the server's ``run_id``: the job notices a
  restarted store and rewrites it, docs/job.md).
- ``admin``: project commands and tests (flush, clean-up, benchmarks). Everything.

The ``default`` user is switched off, so a connection without credentials can do nothing (its
permissions serve only Redis's AOF-loading client: :data:`DEFAULT_USER_RULE`).
Passwords: ``settings.redis_<role>_password`` (environment / settings file) or, when unset, the
file ``<credentials dir>/<role>`` (mode 0600), which :func:`ensure_passwords` generates. The
aclfile holds only SHA-256 hashes of the passwords (``#<hex>``), never the passwords.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from userpulse.config import RedisSettings
from userpulse.errors import UserpulseError
from userpulse.layout import PREFIX

Role = Literal["job", "lookup", "admin"]
ROLES: tuple[Role, ...] = ("job", "lookup", "admin")

# Connection set-up that every role needs: AUTH / HELLO (redis-py sends HELLO with RESP3),
# SELECT (a non-zero redis_db), CLIENT SETNAME, PING (health checks), and the cluster discovery
# commands redis-py's RedisCluster client runs when it connects (CLUSTER SLOTS / SHARDS, COMMAND,
# READONLY), and ASKING, which a cluster client sends before a command it resends to the node named
# in an ASK redirection (a slot in migration whose keys already moved there).
_CONNECT = (
    "+auth +hello +select +client|setname +ping +readonly +cluster|slots +cluster|shards +command "
    "+asking"
)
KEY_PATTERN = f"~{PREFIX}:*"

RULES: dict[Role, str] = {
    "lookup": f"resetkeys {KEY_PATTERN} resetchannels -@all {_CONNECT} +hgetall +hget +hmget "
    "+hexists +get +exists +ttl +pttl +info",
    "job": f"resetkeys {KEY_PATTERN} resetchannels -@all {_CONNECT} +hset +hmget +hget +hgetall "
    "+hdel +get +set +exists +expire +evalsha +eval +script|load +script|exists +info",
    "admin": "~* &* +@all",
}
# The default user is off: no connection can authenticate as it, so an unauthenticated connection
# can run nothing but AUTH / HELLO (NOAUTH). Its permissions are those of Redis's internal
# AOF-loading client, which re-checks the ACL at each EXEC it replays (redis/redis#14541, fixed
# after 7.x): with -@all every transaction in the append-only file, i.e. every write script of
# the job with more than one write, is dropped when Redis restarts (tests/integration/
# test_redis_durability.py). So it keeps every permission while switched off.
DEFAULT_USER_RULE = "user default off resetkeys ~* resetchannels &* +@all"


class CredentialsError(UserpulseError, ValueError):
    """A Redis user name or password file that cannot be used (the message says what to do)."""


def user_name(settings: RedisSettings, role: Role) -> str:
    """The ACL user name of ``role`` (``settings.redis_<role>_user``)."""
    return str(getattr(settings, f"redis_{role}_user"))


def password_file(settings: RedisSettings, role: Role) -> Path:
    """``<credentials dir>/<role>``: where the generated password of ``role`` lives."""
    return settings.credentials_dir / role


def password(settings: RedisSettings, role: Role) -> SecretStr | None:
    """The password of ``role``: the setting (environment / settings file), else its file.

    Returns:
        None when neither is set (connect as Redis's default user, e.g. an external Redis
        without ACL users).

    Raises:
        CredentialsError: the password file exists but is empty, or readable by group or others.
    """
    configured = getattr(settings, f"redis_{role}_password")
    if configured is not None:
        return SecretStr(configured.get_secret_value())
    path = password_file(settings, role)
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if st.st_mode & 0o077:
        raise CredentialsError(f"{path} is readable by group or others: chmod 600 {path}")
    text = path.read_text().strip()
    if not text:
        raise CredentialsError(f"{path} is empty: delete it (`userpulse up` writes a new one)")
    return SecretStr(text)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` created with mode 0600 (replacing it atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def ensure_passwords(settings: RedisSettings) -> dict[Role, SecretStr]:
    """Every role's password: configured ones as they are; missing files generated (0600).

    Generated passwords are 256-bit random (``secrets.token_urlsafe(32)``) and kept across
    restarts of the local Redis.
    """
    out: dict[Role, SecretStr] = {}
    for role in ROLES:
        current = password(settings, role)
        if current is None:
            _write_private(password_file(settings, role), secrets.token_urlsafe(32) + "\n")
            current = password(settings, role)
            assert current is not None
        out[role] = current
    return out


def acl_lines(settings: RedisSettings, passwords: dict[Role, SecretStr]) -> list[str]:
    """The aclfile lines: default user off, then one line per role with its password hash."""
    lines = [DEFAULT_USER_RULE]
    for role in ROLES:
        digest = hashlib.sha256(passwords[role].get_secret_value().encode()).hexdigest()
        lines.append(f"user {user_name(settings, role)} on #{digest} {RULES[role]}")
    return lines


def write_aclfile(settings: RedisSettings, path: Path) -> Path:
    """Write the aclfile of the local Redis to ``path`` (mode 0600); generates missing passwords.

    Raises:
        CredentialsError: two roles share a user name, or a user name contains whitespace.
    """
    names = [user_name(settings, r) for r in ROLES]
    if len(set(names)) != len(names) or any(not n or n.split() != [n] for n in names):
        raise CredentialsError(
            f"redis_job_user / redis_lookup_user / redis_admin_user must be distinct single "
            f"words, got {names}"
        )
    _write_private(path, "\n".join(acl_lines(settings, ensure_passwords(settings))) + "\n")
    return path
