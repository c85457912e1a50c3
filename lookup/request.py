"""What every lookup variant shares: request validation, keys, and turning replies into results.

The sync client (:mod:`lookup.client`), the asyncio client (:mod:`lookup.aio`) and the HTTP
service all go through :func:`plan`, queue each user's reads with
:func:`lookup.merge.queue_reads` (keys from :mod:`sinks.layout`) and turn the replies into results
with :meth:`LookupPlan.results` (:func:`lookup.merge.features_from_replies`), so layout and merge
exist once. Only the I/O (one pipeline, sent and awaited or not) differs between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from lookup.errors import InvalidUserId, StoreUnavailable, TooManyUsers, UnknownFeature
from lookup.merge import READS_PER_USER, FeatureResult, features_from_replies, validate

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

    def results(self, replies: Sequence[Any]) -> dict[str, dict[str, FeatureResult]]:
        """user id -> feature name -> result, from the replies to
        :func:`lookup.merge.queue_reads` (``READS_PER_USER`` per user, users in order)."""
        n = READS_PER_USER
        if len(replies) != n * len(self.users):
            raise ValueError(f"{len(replies)} replies for {len(self.users)} users")
        return {
            u: features_from_replies(self.names, self.as_of_ms, replies[i * n : (i + 1) * n])
            for i, u in enumerate(self.users)
        }


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
        InvalidUserId, UnknownFeature, TooManyUsers: see :mod:`lookup.errors`.
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


def store_error(e: redis.RedisError, where: str) -> StoreUnavailable:
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
    return {
        "value": r.value,
        "status": r.status.value,
        "newest_event_time_ms": r.newest_event_time_ms,
    }
