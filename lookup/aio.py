"""Asyncio lookup client (``redis.asyncio``): the same lookups as :mod:`lookup.client`.

Validation, keys and the merge are the shared ones (:mod:`lookup.request`, :mod:`lookup.merge`);
only the pipelined ``HGETALL`` round trip is awaited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import redis
import redis.asyncio

from lookup.client import now_ms
from lookup.merge import FeatureResult, queue_reads
from lookup.request import plan, store_error
from userpulse import redis_conn
from userpulse.settings import Settings

__all__ = ["AsyncFeatureClient"]


class AsyncFeatureClient:
    """Reads features from Redis (asyncio).

    Args:
        client: a ``redis.asyncio.Redis`` (as the lookup ACL user: :meth:`from_settings`).
        clock_ms: injectable clock returning UTC epoch ms (the default ``as_of``).
        max_users: most distinct users in one :meth:`get_many`; None = no limit.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        clock_ms: Callable[[], int] = now_ms,
        max_users: int | None = None,
    ) -> None:
        self._r = client
        self._clock_ms = clock_ms
        self._max_users = max_users
        kwargs = client.connection_pool.connection_kwargs
        self._where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"

    @classmethod
    def from_settings(cls, settings: Settings, max_connections: int = 64) -> AsyncFeatureClient:
        """A client connected as the lookup ACL user (credentials and TLS from ``settings``).

        Raises:
            ValueError: an unusable password file (the message says what to do).
        """
        return cls(
            redis_conn.connect_async(settings, "lookup", max_connections=max_connections),
            max_users=settings.lookup_max_batch_users,
        )

    def now_ms(self) -> int:
        """The client's clock: UTC epoch ms (the lookup time when ``as_of`` is None)."""
        return self._clock_ms()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._r.aclose()  # type: ignore[attr-defined]  # redis>=5 (stubs lag)

    async def ping(self) -> None:
        """Check that Redis answers the lookup user.

        Raises:
            lookup.errors.StoreUnavailable: it does not.
        """
        try:
            await self._r.ping()
        except redis.RedisError as e:
            raise store_error(e, self._where) from None

    async def get(
        self, user_id: str, features: Sequence[str] | None = None, as_of: int | None = None
    ) -> dict[str, FeatureResult]:
        """Features of one user; see :meth:`lookup.client.FeatureClient.get` (same raises)."""
        return (await self.get_many([user_id], features, as_of))[user_id]

    async def get_many(
        self,
        user_ids: Iterable[str],
        features: Sequence[str] | None = None,
        as_of: int | None = None,
    ) -> dict[str, dict[str, FeatureResult]]:
        """Features of many users in one round trip; see
        :meth:`lookup.client.FeatureClient.get_many` (same raises)."""
        p = plan(user_ids, features, self._clock_ms() if as_of is None else as_of, self._max_users)
        if not p.users:
            return {}
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                for u in p.users:  # merge.queue_reads: tile hash + profile key
                    queue_reads(pipe, u)
                replies = await pipe.execute()
        except redis.RedisError as e:
            raise store_error(e, self._where) from None
        return p.results(replies)
