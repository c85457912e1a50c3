"""Asyncio lookup client (``redis.asyncio``): the same lookups as :mod:`userpulse.lookup.client`.

Validation, keys and the merge are the shared ones (:mod:`userpulse.lookup.request`,
:mod:`userpulse.lookup.merge`);
only the pipelined round trips (the pre-merged windows, then the tiles of the users they do not
answer) are awaited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster

from userpulse import redis_conn
from userpulse.config import LookupSettings
from userpulse.lookup.client import now_ms, where_of
from userpulse.lookup.merge import FeatureResult, queue_generation, queue_reads
from userpulse.lookup.premerged import FastPath, fast_fields, queue_fast_reads
from userpulse.lookup.request import STORE_ERRORS, LookupPlan, plan, store_error
from userpulse.lookup.runguard import RunGuard

__all__ = ["AsyncFeatureClient"]


class AsyncFeatureClient:
    """Reads features from Redis (asyncio).

    Args:
        client: a ``redis.asyncio.Redis`` (as the lookup ACL user: :meth:`from_settings`).
        clock_ms: injectable clock returning UTC epoch ms (the default ``as_of``).
        max_users: most distinct users in one :meth:`get_many`; None = no limit.
        guard: the run-id check of ``client``'s connections (:mod:`userpulse.lookup.runguard`), or
        None.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis | redis.asyncio.RedisCluster,
        clock_ms: Callable[[], int] = now_ms,
        max_users: int | None = None,
        where: str | None = None,
        guard: RunGuard | None = None,
    ) -> None:
        self._r = client
        self._clock_ms = clock_ms
        self._max_users = max_users
        self._where = where or where_of(client)
        self._guard = guard
        self.fast_path = FastPath()
        """Hit counts of the pre-merged fast path (:mod:`userpulse.lookup.premerged`)."""

    @classmethod
    def from_settings(
        cls, settings: LookupSettings, max_connections: int = 64
    ) -> AsyncFeatureClient:
        """A client as the settings say: the lookup ACL user (credentials and TLS), a
        ``redis.asyncio.RedisCluster`` when ``settings.redis_cluster`` is set (it reads the slot
        map on first use), else one server; at most ``settings.lookup_max_batch_users`` users
        per :meth:`get_many`. No I/O happens here.

        Args:
            max_connections: connection pool size (per node with a cluster).

        Raises:
            ValueError: an unusable password file (the message says what to do).
        """
        where = f"{settings.redis_host}:{settings.redis_port}"
        if settings.redis_cluster:
            guard = RunGuard(cluster=True)
            client: redis.asyncio.Redis | redis.asyncio.RedisCluster = (
                redis_conn.connect_async_cluster(
                    settings,
                    "lookup",
                    max_connections=max_connections,
                    on_connect=guard.on_cluster_connect_async,
                )
            )
        else:
            guard = RunGuard()
            client = redis_conn.connect_async(
                settings,
                "lookup",
                max_connections=max_connections,
                on_connect=guard.on_connect_async,
            )
        return cls(client, max_users=settings.lookup_max_batch_users, where=where, guard=guard)

    @classmethod
    def from_url(cls, url: str, max_connections: int = 64) -> AsyncFeatureClient:
        """A client for ``redis://[user:password@]host:port/db`` or ``rediss://...`` (one server;
        no settings, no ACL defaults), with the run-id check of :meth:`from_settings`
        (:mod:`userpulse.lookup.runguard`). No I/O happens here.

        Args:
            max_connections: connection pool size.

        Raises:
            ValueError: a URL redis-py cannot parse.
        """
        guard = RunGuard()
        client = redis.asyncio.Redis.from_url(
            url, max_connections=max_connections, redis_connect_func=guard.on_connect_async
        )
        return cls(client, guard=guard)

    def now_ms(self) -> int:
        """The client's clock: UTC epoch ms (the lookup time when ``as_of`` is None)."""
        return self._clock_ms()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._r.aclose()  # type: ignore[union-attr]  # redis>=5 (stubs lag)

    async def ping(self) -> None:
        """Check that Redis answers the lookup user.

        Raises:
            userpulse.lookup.errors.StoreUnavailable: it does not.
        """
        try:
            await self._r.ping()  # type: ignore[union-attr]  # the cluster has it (stubs lag)
        except STORE_ERRORS as e:
            raise store_error(e, self._where) from None

    async def get(
        self, user_id: str, features: Sequence[str] | None = None, as_of: int | None = None
    ) -> dict[str, FeatureResult]:
        """Features of one user; see :meth:`userpulse.lookup.client.FeatureClient.get` (same
        raises)."""
        return (await self.get_many([user_id], features, as_of))[user_id]

    async def get_many(
        self,
        user_ids: Iterable[str],
        features: Sequence[str] | None = None,
        as_of: int | None = None,
    ) -> dict[str, dict[str, FeatureResult]]:
        """Features of many users in one round trip (two for the users the pre-merged windows do
        not answer); see
        :meth:`userpulse.lookup.client.FeatureClient.get_many` (same raises)."""
        p = plan(user_ids, features, self._clock_ms() if as_of is None else as_of, self._max_users)
        if not p.users:
            return {}
        if not self.fast_path.use():
            return await self._full(p)
        fields = fast_fields(tuple(p.names))
        replies, stale = await self._send([(queue_fast_reads, u, fields) for u in p.users])
        done, rest, with_fields = p.fast(replies, self._where, stale=stale)
        self.fast_path.record(len(done), len(rest), with_fields)
        if not rest:
            return done if len(done) == 1 else p.in_order(done)
        return p.in_order(done, await self._full(p.only(rest)))

    async def _full(self, p: LookupPlan) -> dict[str, dict[str, FeatureResult]]:
        """The full read and merge of every user of ``p`` (one round trip)."""
        replies, stale = await self._send([(queue_reads, u) for u in p.users])
        return p.results(replies, self._where, stale=stale)

    async def _send(self, reads: list[tuple[Any, ...]]) -> tuple[list[Any], bool]:
        """As :meth:`userpulse.lookup.client.FeatureClient._send`, awaited."""
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                for queue, *args in reads:
                    queue(pipe, *args)
                queue_generation(pipe)
                checked = self._guard.queue(pipe) if self._guard else False
                replies = await pipe.execute(raise_on_error=False)
        except STORE_ERRORS as e:
            raise store_error(e, self._where) from None
        stale = self._guard is not None and self._guard.stale_after(replies, checked)
        return replies, stale
