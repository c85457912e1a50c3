"""Lookup client: reads a user's hash and merges its tiles into window values as of a time.

``get(user_id, features=None, as_of=None)`` and ``get_many(user_ids, ...)`` read every key they
need in one pipelined round trip (with a Redis Cluster client: one per node, so at most one per
slot; every user is one key on one slot): the pre-merged windows and the profile
(:mod:`userpulse.lookup.premerged`); the users those do not answer take a second round trip, the
full read of their tiles. Validation and the merge are shared with the asyncio
client and the HTTP service (:mod:`userpulse.lookup.request`, :mod:`userpulse.lookup.merge`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis
from redis.cluster import RedisCluster

from userpulse import redis_conn
from userpulse.config import LookupSettings
from userpulse.lookup.merge import FeatureResult, Status, queue_generation, queue_reads
from userpulse.lookup.premerged import FastPath, fast_fields, queue_fast_reads
from userpulse.lookup.request import STORE_ERRORS, LookupPlan, plan, store_error
from userpulse.lookup.runguard import RunGuard

__all__ = ["FeatureClient", "FeatureResult", "Status"]


def where_of(client: object) -> str:
    """``host:port`` of a redis-py client, for error messages (never credentials)."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {})
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"


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
        guard: the run-id check of ``client``'s connections (:mod:`userpulse.lookup.runguard`; its
            ``on_connect`` is the client's ``redis_connect_func``), or None.
    """

    def __init__(
        self,
        client: redis.Redis | RedisCluster,
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
    def from_settings(cls, settings: LookupSettings, cluster: bool | None = None) -> FeatureClient:
        """A client as the settings say: the lookup ACL user (credentials and TLS), a
        ``RedisCluster`` when ``settings.redis_cluster`` is set (discovered from
        ``redis_host:redis_port``, any node), else one server; at most
        ``settings.lookup_max_batch_users`` users per :meth:`get_many`.

        Args:
            cluster: override ``settings.redis_cluster`` (None, the default: follow it).

        Raises:
            ValueError: an unusable password file (the message says what to do).
            userpulse.lookup.errors.StoreUnavailable: a cluster whose nodes do not answer.
        """
        use_cluster = settings.redis_cluster if cluster is None else cluster
        where = f"{settings.redis_host}:{settings.redis_port}"
        guard = RunGuard(cluster=use_cluster)
        try:
            r = (
                redis_conn.connect_cluster(settings, "lookup", on_connect=guard.on_cluster_connect)
                if use_cluster
                else redis_conn.connect(settings, "lookup", on_connect=guard.on_connect)
            )
        except STORE_ERRORS as e:  # a cluster reads its slot map at once
            raise store_error(e, where) from None
        return cls(r, max_users=settings.lookup_max_batch_users, where=where, guard=guard)

    @classmethod
    def from_url(cls, url: str) -> FeatureClient:
        """A client for ``redis://[user:password@]host:port/db`` or ``rediss://...`` (one server;
        no settings, no ACL defaults), with the run-id check of :meth:`from_settings`
        (:mod:`userpulse.lookup.runguard`). No I/O happens here.

        Raises:
            ValueError: a URL redis-py cannot parse.
        """
        guard = RunGuard()
        return cls(redis.Redis.from_url(url, redis_connect_func=guard.on_connect), guard=guard)

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
            userpulse.lookup.errors.InvalidUserId: a bad user id.
            userpulse.lookup.errors.UnknownFeature: an unknown feature name (also a ValueError).
            userpulse.lookup.errors.StoreUnavailable: Redis unreachable, timed out or refused us (an
                error
                for the user's key alone, e.g. ``WRONGTYPE``, is the status ``STORE_ERROR``).
        """
        return self.get_many([user_id], features, as_of)[user_id]

    def get_many(
        self,
        user_ids: Iterable[str],
        features: Sequence[str] | None = None,
        as_of: int | None = None,
    ) -> dict[str, dict[str, FeatureResult]]:
        """Features of many users in one pipelined round trip per node (two for the users the
        pre-merged windows do not answer); arguments as :meth:`get`.

        Returns:
            user id -> feature name -> result, for each distinct user id. A user whose key
            Redis answered with an error, or whose stored value is not layout v1, has every
            feature ``STORE_ERROR`` (``error`` names the key); the others are answered.

        Raises:
            userpulse.lookup.errors.TooManyUsers: more distinct users than ``max_users``.
            As :meth:`get` otherwise.
        """
        p = plan(user_ids, features, self._clock_ms() if as_of is None else as_of, self._max_users)
        if not p.users:
            return {}
        if not self.fast_path.use():
            return self._full(p)
        fields = fast_fields(tuple(p.names))
        replies, stale = self._send([(queue_fast_reads, u, fields) for u in p.users])
        done, rest, with_fields = p.fast(replies, self._where, stale=stale)
        self.fast_path.record(len(done), len(rest), with_fields)
        if not rest:
            return done if len(done) == 1 else p.in_order(done)
        return p.in_order(done, self._full(p.only(rest)))

    def _full(self, p: LookupPlan) -> dict[str, dict[str, FeatureResult]]:
        """The full read and merge of every user of ``p`` (one round trip per node)."""
        replies, stale = self._send([(queue_reads, u) for u in p.users])
        return p.results(replies, self._where, stale=stale)

    def _send(self, reads: list[tuple[Any, ...]]) -> tuple[list[Any], bool]:
        """Run ``reads`` (``(queue function, user id, *args)``), the generation marker's read and
        the run guard's on one pipeline; ``(replies, stale)`` (the guard's reply taken off).

        Raises:
            userpulse.lookup.errors.StoreUnavailable: the pipeline failed as a whole.
        """
        try:
            pipe = self._r.pipeline(transaction=False)
            for queue, *args in reads:
                queue(pipe, *args)
            queue_generation(pipe)
            checked = self._guard.queue(pipe) if self._guard else False
            replies = pipe.execute(raise_on_error=False)
        except STORE_ERRORS as e:
            raise store_error(e, self._where) from None
        stale = self._guard is not None and self._guard.stale_after(replies, checked)
        return replies, stale
