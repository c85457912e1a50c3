"""Lookup client: reads a user's hash and merges its tiles into window values as of a time.

``get(user_id, features=None, as_of=None)`` and ``get_many(user_ids, ...)`` read every key they
need in one pipelined round trip (with a Redis Cluster client: one per node, so at most one per
slot; every user is one key on one slot). Validation and the merge are shared with the asyncio
client and the HTTP service (:mod:`lookup.request`, :mod:`lookup.merge`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import redis
from redis.cluster import RedisCluster

from lookup.merge import FeatureResult, Status, queue_reads
from lookup.request import plan, store_error
from userpulse import redis_conn
from userpulse.settings import Settings

__all__ = ["FeatureClient", "FeatureResult", "Status"]


def now_ms() -> int:
    """Wall clock, UTC epoch ms (the default lookup time)."""
    return time.time_ns() // 1_000_000


class FeatureClient:
    """Reads features from Redis (sync).

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster`` connected to the online store
            (as the read-only lookup user: :meth:`from_settings`).
        clock_ms: injectable clock returning UTC epoch ms (the default ``as_of``).
        max_users: most distinct users in one :meth:`get_many`; None = no limit.
    """

    def __init__(
        self,
        client: redis.Redis | RedisCluster,
        clock_ms: Callable[[], int] = now_ms,
        max_users: int | None = None,
    ) -> None:
        self._r = client
        self._clock_ms = clock_ms
        self._max_users = max_users
        kw = getattr(client, "connection_pool", None)
        kwargs = getattr(kw, "connection_kwargs", {})
        self._where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"

    @classmethod
    def from_settings(cls, settings: Settings, cluster: bool = False) -> FeatureClient:
        """A client connected as the lookup ACL user (credentials and TLS from ``settings``).

        Args:
            cluster: connect a ``RedisCluster`` (discovered from ``redis_host:redis_port``).

        Raises:
            ValueError: an unusable password file (the message says what to do).
        """
        if cluster:
            return cls(redis_conn.connect_cluster(settings, "lookup"))
        return cls(redis_conn.connect(settings, "lookup"))

    @classmethod
    def from_url(cls, url: str) -> FeatureClient:
        """A client for ``redis://[user:password@]host:port/db`` (no settings, no ACL defaults)."""
        return cls(redis.Redis.from_url(url))

    def close(self) -> None:
        """Close the connections."""
        self._r.close()

    def get(
        self, user_id: str, features: Sequence[str] | None = None, as_of: int | None = None
    ) -> dict[str, FeatureResult]:
        """Features of one user as of ``as_of``.

        Args:
            user_id: 1..128 bytes of UTF-8.
            features: feature names; None = every feature (``userpulse.features.FEATURE_NAMES``).
            as_of: lookup time, UTC epoch ms; None = now.

        Returns:
            feature name -> :class:`FeatureResult` (value, status, newest event time).

        Raises:
            lookup.errors.InvalidUserId: a bad user id.
            lookup.errors.UnknownFeature: an unknown feature name (also a ValueError).
            lookup.errors.StoreUnavailable: Redis unreachable, timed out or refused us.
        """
        return self.get_many([user_id], features, as_of)[user_id]

    def get_many(
        self,
        user_ids: Iterable[str],
        features: Sequence[str] | None = None,
        as_of: int | None = None,
    ) -> dict[str, dict[str, FeatureResult]]:
        """Features of many users in one pipelined round trip per node; arguments as :meth:`get`.

        Returns:
            user id -> feature name -> result, for each distinct user id.

        Raises:
            lookup.errors.TooManyUsers: more distinct users than ``max_users``.
            As :meth:`get` otherwise.
        """
        p = plan(user_ids, features, self._clock_ms() if as_of is None else as_of, self._max_users)
        if not p.users:
            return {}
        try:
            pipe = self._r.pipeline(transaction=False)
            for u in p.users:  # merge.queue_reads: tile hash + profile key
                queue_reads(pipe, u)
            replies = pipe.execute()
        except redis.RedisError as e:
            raise store_error(e, self._where) from None
        return p.results(replies)
