"""What every lookup variant shares: request validation, keys, and turning replies into results.

The sync client (:mod:`userpulse.lookup.client`), the asyncio client (:mod:`userpulse.lookup.aio`)
and the HTTP
service all go through :func:`plan`, queue each user's reads with
:func:`userpulse.lookup.merge.queue_reads` (keys from :mod:`userpulse.layout`) and turn the
replies into results
with :meth:`LookupPlan.results` (:func:`userpulse.lookup.merge.features_from_replies`), so layout
and merge
exist once. Only the I/O (one pipeline, sent and awaited or not) differs between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from userpulse.lookup.errors import InvalidUserId, StoreUnavailable, TooManyUsers, UnknownFeature
from userpulse.lookup.merge import (
    READS_PER_USER,
    REWRITING,
    FeatureResult,
    StoredValueError,
    features_many,
    is_rewriting,
    store_error_results,
    validate,
)
from userpulse.lookup.premerged import FastAnswer, fast_results

MAX_USER_ID_BYTES = 128  # design section 3: 1..128 bytes UTF-8


def validate_user_id(user_id: object) -> str:
    """``user_id`` unchanged when it is a str of 1..128 bytes of UTF-8.

    Raises:
        InvalidUserId: not a str, empty, longer than 128 bytes, or not encodable as UTF-8
            (lone surrogates). The message says which.
    """
    if not isinstance(user_id, str):
        raise InvalidUserId(f"user id must be a string, got {type(user_id).__name__}")
    try:
        n = len(user_id.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidUserId("user id is not valid UTF-8 (it contains a lone surrogate)") from None
    if not 1 <= n <= MAX_USER_ID_BYTES:
        raise InvalidUserId(f"user id must be 1..{MAX_USER_ID_BYTES} bytes of UTF-8, got {n}")
    return user_id


@dataclass(frozen=True)
class LookupPlan:
    """A validated lookup: which users, which features, as of when.

    Attributes:
        users: distinct user ids in request order.
        names: feature names to compute.
        as_of_ms: lookup time, UTC epoch ms.
    """

    users: list[str]
    names: list[str]
    as_of_ms: int

    def results(
        self, replies: Sequence[Any], where: str = "?", stale: bool = False
    ) -> dict[str, dict[str, FeatureResult]]:
        """user id -> feature name -> result, from the replies to
        :func:`userpulse.lookup.merge.queue_reads` (``READS_PER_USER`` per user, users in order) and
        then
        :func:`userpulse.lookup.merge.queue_generation`, sent with ``raise_on_error=False``.

        A reply that is a Redis error for one key (``WRONGTYPE``, ...) makes that user's
        features ``STORE_ERROR`` naming the key; a user written under an older store generation
        than the marker's is ``REWRITING`` (the store lost data and the job has not rewritten
        the user yet); the other users are answered. ``stale``: the server restarted and the
        job has not noticed yet (:mod:`userpulse.lookup.runguard`): every user with stored data is
        ``REWRITING``.

        Raises:
            StoreUnavailable: a reply says Redis itself could not be reached, timed out, or
                refused the lookup user (see :func:`raise_if_unavailable`).
        """
        n = READS_PER_USER
        if len(replies) != n * len(self.users) + 1:
            raise ValueError(f"{len(replies)} replies for {len(self.users)} users")
        raise_if_unavailable(replies, where)
        store_gen = _generation(replies[-1])
        stored: list[tuple[Any, Any]] = []
        failed: dict[int, tuple[str, BaseException]] = {}
        rewriting: set[int] = set()
        for i in range(len(self.users)):
            h, p = replies[i * n], replies[i * n + 1]
            if isinstance(h, Exception) or isinstance(p, Exception):
                which, err = ("tiles", h) if isinstance(h, Exception) else ("profile", p)
                failed[i] = (which, err)
                h, p = {}, None
            elif (stale and (h or p is not None)) or is_rewriting(h, store_gen):
                rewriting.add(i)
                h, p = {}, None
            stored.append((h or {}, p))
        got = features_many(self.names, self.as_of_ms, stored)
        out: dict[str, dict[str, FeatureResult]] = {}
        for i, (u, r) in enumerate(zip(self.users, got, strict=True)):
            if i in failed:
                out[u] = store_error_results(self.names, u, *failed[i])
            elif i in rewriting:
                out[u] = dict.fromkeys(self.names, REWRITING)
            elif isinstance(r, StoredValueError):
                out[u] = store_error_results(self.names, u, r.which, r)
            else:
                out[u] = r
        return out

    def fast(self, replies: list[Any], where: str = "?", stale: bool = False) -> FastAnswer:
        """What the pre-merged values answer, from the replies to
        :func:`userpulse.lookup.premerged.queue_fast_reads` (two per user, users in order) and
        then :func:`userpulse.lookup.merge.queue_generation`, sent with ``raise_on_error=False``
        (:func:`userpulse.lookup.premerged.fast_results`; the users it leaves go to
        :meth:`results` of :meth:`only` them).

        Raises:
            StoreUnavailable: as :meth:`results`.
        """
        if len(replies) != 2 * len(self.users) + 1:
            raise ValueError(f"{len(replies)} replies for {len(self.users)} users")
        raise_if_unavailable(replies, where)
        gen = _generation(replies[-1])
        return fast_results(self.users, self.names, self.as_of_ms, replies[:-1], gen, stale)

    def only(self, users: list[str]) -> LookupPlan:
        """The same lookup for ``users`` (a subset, already validated)."""
        return LookupPlan(users, self.names, self.as_of_ms)

    def in_order(
        self, *parts: dict[str, dict[str, FeatureResult]]
    ) -> dict[str, dict[str, FeatureResult]]:
        """The results of ``parts`` (each for some of the users) in request order."""
        out: dict[str, dict[str, FeatureResult]] = {}
        for u in self.users:
            out[u] = next(p[u] for p in parts if u in p)
        return out


def _generation(reply: Any) -> int | None:
    """The store generation marker's value (GET reply), or None when it is missing or not a
    number (an error reply for the marker alone does not fail the lookup)."""
    if reply is None or isinstance(reply, Exception):
        return None
    try:
        return int(reply)
    except ValueError:
        return None


def plan(
    user_ids: Iterable[str],
    features: Sequence[str] | None,
    as_of_ms: int,
    max_users: int | None = None,
) -> LookupPlan:
    """Validate a lookup before any I/O.

    Args:
        user_ids: user ids (duplicates are looked up once).
        features: feature names, or None for every feature of the catalogue.
        as_of_ms: lookup time, UTC epoch ms.
        max_users: most distinct users allowed; None = no limit.

    Raises:
        InvalidUserId, UnknownFeature, TooManyUsers: see :mod:`userpulse.lookup.errors`.
    """
    if isinstance(user_ids, str):
        raise InvalidUserId("user_ids must be a list of user ids, not one string")
    if isinstance(features, str):
        raise UnknownFeature("features must be a list of feature names, not one string")
    users = list(dict.fromkeys(validate_user_id(u) for u in user_ids))
    if max_users is not None and len(users) > max_users:
        raise TooManyUsers(f"{len(users)} users in one lookup; at most {max_users}")
    try:
        names = validate(features)
    except ValueError as e:
        raise UnknownFeature(str(e)) from None
    return LookupPlan(users, names, int(as_of_ms))


STORE_ERRORS = (redis.RedisError, redis.exceptions.RedisClusterException)
"""What a Redis call can raise (a cluster client that finds no node raises the second)."""
_UNAVAILABLE = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.AuthenticationError,
    redis.exceptions.NoPermissionError,
    redis.exceptions.ClusterError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.MasterDownError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.TryAgainError,
    redis.exceptions.MovedError,
    redis.exceptions.AskError,
)


def raise_if_unavailable(replies: Sequence[Any], where: str) -> None:
    """Raise :class:`StoreUnavailable` when a pipeline reply says the store itself failed
    (connection, timeout, credentials, a lookup command denied, cluster down or a redirection
    left unresolved); per-key errors (``WRONGTYPE``, ...) are left to the caller."""
    for r in replies:
        if isinstance(r, _UNAVAILABLE) or (
            isinstance(r, redis.RedisError) and "WRONGPASS" in str(r)
        ):
            raise store_error(r, where)


def store_error(e: Exception, where: str) -> StoreUnavailable:
    """A :class:`StoreUnavailable` for a Redis error, with a message that says what to check.

    ``where`` is ``host:port``. Never includes credentials.
    """
    if isinstance(e, redis.AuthenticationError) or "WRONGPASS" in str(e):
        return StoreUnavailable(
            f"Redis at {where} refused the lookup user's credentials ({type(e).__name__}); check "
            "USERPULSE_REDIS_LOOKUP_USER / USERPULSE_REDIS_LOOKUP_PASSWORD or the password file"
        )
    if isinstance(e, redis.exceptions.NoPermissionError):
        return StoreUnavailable(f"Redis at {where} denied a lookup command: {e}")
    return StoreUnavailable(f"Redis at {where} unavailable: {type(e).__name__}: {e}")


def result_json(r: FeatureResult) -> dict[str, Any]:
    """A result as a JSON-able dict: ``{"value", "status", "newest_event_time_ms"}``.

    The value is passed through as the merge returned it (int, float, None, or a list of
    ``{"item_id", "event_time_ms"}`` dicts).
    """
    out = {
        "value": r.value,
        "status": r.status.value,
        "newest_event_time_ms": r.newest_event_time_ms,
    }
    if r.error is not None:
        out["error"] = r.error
    return out
