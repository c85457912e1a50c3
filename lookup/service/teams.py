"""Who may read what: the teams file of the HTTP service (API keys, features, batch, quotas).

The file (``USERPULSE_SERVICE_TEAMS_FILE``) is JSON; each team has the SHA-256 hashes of its API
keys (never the keys), the features it may read, whether it may send batch lookups (and how many
users), and its request quota::

    {"teams": {
      "ranking": {"api_key_sha256": ["9f86d0..."], "features": ["*"], "batch": true,
                  "max_batch_users": 100, "requests_per_s": 2000},
      "growth":  {"api_key_sha256": ["60303a...", "fd61a0..."],
                  "features": ["count_click_1h", "last_seen"], "batch": false,
                  "requests_per_s": 50}}}

Rotation without a restart: add the new key's hash, hand the key out, remove the old hash. The
service re-reads the file when its modification time or size changes (checked at most once per
``reload_interval_s``); a file that does not parse keeps the previous teams and is counted and
logged (by name and reason, never its content). Keys are random tokens of 256 bits
(:func:`new_key`), so one SHA-256 is the right hash (as for the Redis ACL passwords); a
presented key is hashed and looked up, and its text appears nowhere.

    .venv/bin/python -m userpulse.lookup.service new-key     # prints a new key and the hash to
    store
    .venv/bin/python -m userpulse.lookup.service hash-key    # the hash of a key read from stdin
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from userpulse.features import FEATURE_NAMES

log = logging.getLogger("userpulse.lookup.teams")
ALL = "*"
_KNOWN = frozenset(FEATURE_NAMES)
_FIELDS = {"api_key_sha256", "features", "batch", "max_batch_users", "requests_per_s"}


def hash_key(key: str) -> str:
    """Hex SHA-256 of an API key's UTF-8 bytes: what the teams file stores."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> tuple[str, str]:
    """A new API key (``up_`` + 43 URL-safe characters, 256 random bits) and its hash."""
    key = "up_" + secrets.token_urlsafe(32)
    return key, hash_key(key)


@dataclass(frozen=True)
class Team:
    """One team's rights.

    Attributes:
        name: the team's name (on metrics and access-log lines).
        features: feature names it may read; None = every feature.
        batch: whether it may send batch lookups.
        max_batch_users: most users in one of its batch lookups; None = the service's limit.
        requests_per_s: its request quota per second (all workers together); None = no quota.
    """

    name: str
    features: frozenset[str] | None
    batch: bool
    max_batch_users: int | None
    requests_per_s: int | None

    def forbidden(self, names: Sequence[str] | None) -> list[str]:
        """The requested features this team may not read (``names`` None = every feature)."""
        if self.features is None:
            return []
        wanted = FEATURE_NAMES if names is None else names
        return [n for n in dict.fromkeys(wanted) if n in _KNOWN and n not in self.features]


def parse_teams(text: str) -> dict[str, Team]:
    """key hash -> team, from the teams file's text.

    Raises:
        ValueError: not JSON, a missing or unknown field, an unknown feature, a hash that is
            not 64 hex digits, or one hash given to two teams (the message names the team and
            field, never a value).
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON (line {e.lineno})") from None
    teams = doc.get("teams") if isinstance(doc, dict) else None
    if not isinstance(teams, dict) or not teams:
        raise ValueError('expected {"teams": {"<name>": {...}, ...}}')
    out: dict[str, Team] = {}
    for name, t in teams.items():
        if not isinstance(t, dict):
            raise ValueError(f"team {name!r}: expected an object")
        unknown = set(t) - _FIELDS
        if unknown:
            raise ValueError(f"team {name!r}: unknown fields {sorted(unknown)}")
        hashes = t.get("api_key_sha256")
        if not isinstance(hashes, list) or not all(
            isinstance(h, str) and len(h) == 64 and all(c in "0123456789abcdef" for c in h)
            for h in hashes
        ):
            raise ValueError(f"team {name!r}: api_key_sha256 must be a list of 64 hex digits")
        feats = t.get("features", [ALL])
        if not isinstance(feats, list) or not all(isinstance(f, str) for f in feats):
            raise ValueError(f"team {name!r}: features must be a list of names or ['*']")
        bad = [f for f in feats if f != ALL and f not in _KNOWN]
        if bad:
            raise ValueError(f"team {name!r}: unknown features {bad}")
        team = Team(
            name=str(name),
            features=None if ALL in feats else frozenset(feats),
            batch=bool(t.get("batch", False)),
            max_batch_users=_positive(name, "max_batch_users", t.get("max_batch_users")),
            requests_per_s=_positive(name, "requests_per_s", t.get("requests_per_s")),
        )
        for h in hashes:
            if h in out:
                raise ValueError(f"team {name!r}: a key hash is also given to {out[h].name!r}")
            out[h] = team
    return out


def _positive(team: str, field: str, v: object) -> int | None:
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError(f"team {team!r}: {field} must be a positive integer")
    return v


class TeamRegistry:
    """The teams of a teams file, re-read when the file changes (rotation without a restart).

    Args:
        path: the teams file.
        reload_interval_s: least time between two checks of the file's mtime and size.
        on_reload_error: called with the reason when a changed file does not parse.
        clock: monotonic seconds (injectable for tests).

    Raises:
        ValueError: the file cannot be read or parsed at start (the message says why).
    """

    def __init__(
        self,
        path: Path,
        reload_interval_s: float = 1.0,
        on_reload_error: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = path
        self._interval_s = reload_interval_s
        self._on_error = on_reload_error
        self._clock = clock
        self._stamp = self._stat()
        self._by_hash = self._load()
        self._checked = clock()

    def _stat(self) -> tuple[int, int]:
        st = os.stat(self._path)
        return st.st_mtime_ns, st.st_size

    def _load(self) -> dict[str, Team]:
        try:
            text = self._path.read_text()
        except OSError as e:
            raise ValueError(f"teams file {self._path}: {e.strerror}") from None
        try:
            return parse_teams(text)
        except ValueError as e:
            raise ValueError(f"teams file {self._path}: {e}") from None

    def _maybe_reload(self) -> None:
        now = self._clock()
        if now - self._checked < self._interval_s:
            return
        self._checked = now
        try:
            stamp = self._stat()
            if stamp == self._stamp:
                return
            self._by_hash = self._load()
            self._stamp = stamp
            log.info("teams file reloaded: %d teams", len({t.name for t in self.teams}))
        except (OSError, ValueError) as e:
            reason = str(e) if isinstance(e, ValueError) else f"{self._path}: {e.strerror}"
            log.error("teams file not reloaded, keeping the previous teams: %s", reason)
            if self._on_error is not None:
                self._on_error(reason)

    @property
    def teams(self) -> list[Team]:
        """The teams now in force (one entry per team)."""
        return list({t.name: t for t in self._by_hash.values()}.values())

    def team_of(self, key: str | None) -> Team | None:
        """The team whose API key is ``key``, or None (no key, or an unknown one)."""
        self._maybe_reload()
        if not key:
            return None
        return self._by_hash.get(hash_key(key))
