"""Lookup client: reads a user's hash and merges its tiles into window values as of a time.

``get(user_id, features=None, as_of=None)`` and ``get_many(user_ids, ...)`` read every key they
need in one pipelined round trip; the merge itself is :mod:`lookup.merge`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import redis

from lookup.merge import FeatureResult, Status, features_for, validate
from sinks import layout

__all__ = ["FeatureClient", "FeatureResult", "Status"]


class FeatureClient:
    """Reads features from Redis.

    Args:
        client: a ``redis.Redis`` connected to the online store.
        clock_ms: injectable clock returning UTC epoch ms (the default ``as_of``).
    """

    def __init__(
        self, client: redis.Redis, clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)
    ) -> None:
        self._r = client
        self._clock_ms = clock_ms

    @classmethod
    def from_url(cls, url: str) -> FeatureClient:
        """A client for ``redis://host:port/db``."""
        return cls(redis.Redis.from_url(url))

    def get(
        self, user_id: str, features: Sequence[str] | None = None, as_of: int | None = None
    ) -> dict[str, FeatureResult]:
        """Features of one user as of ``as_of`` (UTC epoch ms; None = now).

        Raises:
            ValueError: an unknown feature name.
            redis.exceptions.RedisError: Redis unreachable.
        """
        return self.get_many([user_id], features, as_of)[user_id]

    def get_many(
        self,
        user_ids: Iterable[str],
        features: Sequence[str] | None = None,
        as_of: int | None = None,
    ) -> dict[str, dict[str, FeatureResult]]:
        """Features of many users in one pipelined round trip; same arguments as :meth:`get`."""
        names = validate(features)
        t = self._clock_ms() if as_of is None else int(as_of)
        users = list(dict.fromkeys(user_ids))
        pipe = self._r.pipeline(transaction=False)
        for u in users:
            pipe.hgetall(layout.user_key(u))
        replies = pipe.execute()
        return {u: features_for(names, t, h) for u, h in zip(users, replies, strict=True)}
