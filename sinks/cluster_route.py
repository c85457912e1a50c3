"""Routing of the writer's per-user script calls over a Redis Cluster.

redis-py's ``RedisCluster`` pipeline refuses ``EVALSHA``, so :class:`ClusterRoute` does the
routing itself: every call (one user: its tile hash and profile key, one hash tag, so one slot)
goes to the primary owning its slot, one non-transactional pipeline per node, the write script
loaded on each node the first time it is used there (in the same pipeline).

ASK (a slot in migration whose user's keys already moved to the importing node) is followed at
once, within the same :meth:`ClusterRoute.send`, as the Redis Cluster spec says: the calls answered
``-ASK <slot> <host:port>`` are resent to that node, each as ``ASKING`` + ``EVALSHA`` (one pipeline
per target, the script loaded there first if it never was; after a NOSCRIPT there the caller
resends at once and it is loaded then), and the slot map is left as it is (the
slot still belongs to the source until the migration ends). Users of the slot whose keys are still
on the source are applied by the source itself.

Other failures are reported, not retried, here: :meth:`ClusterRoute.send` returns the calls that
were not applied with the error to raise, and the caller (``TileWriter._retry``) backs off, calls
:meth:`ClusterRoute.refresh` (a fresh slot map after MOVED, a failover or a resharding) and sends
the rest again. Resending is harmless: the writes are absolute and versioned. The target of an ASK
may answer TRYAGAIN (a user with neither key on either node yet: a multi-key call on an importing
slot with missing keys); that one backs off until the migration ends, like before.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import redis
from redis.cluster import PRIMARY, ClusterNode, RedisCluster
from redis.crc import key_slot
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    NoScriptError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)

log = logging.getLogger(__name__)

# A call of the write script: (tile hash key, profile key, ARGV).
Call = tuple[str, str, Sequence[str | int]]

RETRYABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
"""Errors of a single Redis worth retrying (the server is down or slow)."""

CLUSTER_RETRYABLE: tuple[type[Exception], ...] = (
    *RETRYABLE,
    AskError,  # and MovedError, its subclass: the slot lives elsewhere now (an ASK that could
    # not be followed, e.g. its target unreachable, is retried like MOVED)
    TryAgainError,  # a multi-key call during a slot migration
    ClusterDownError,  # a node (re)joining, or slots without a primary
    SlotNotCoveredError,  # our slot map has a hole (a node left it)
)
"""Errors of a Redis Cluster worth retrying after a slot-map refresh."""


class ClusterRoute:
    """Sends write-script calls to the primaries of a Redis Cluster, one pipeline per node.

    Args:
        cluster: a connected ``redis.cluster.RedisCluster`` (its slot map and its per-node
            ``redis.Redis`` connections are used).
        script: the Lua source of the write script (loaded on each node before its first call).
    """

    def __init__(self, cluster: RedisCluster, script: str) -> None:
        self._cluster = cluster
        self._script = script
        self.sha = hashlib.sha1(script.encode()).hexdigest()
        self._loaded: set[str] = set()  # names ("host:port") of the nodes that have the script
        self._extra: dict[str, ClusterNode] = {}  # ASK targets not in the slot map, by name

    def node_of(self, key: str) -> ClusterNode:
        """The primary that owns ``key``'s slot in the current slot map.

        Raises:
            SlotNotCoveredError: no node owns the slot in the slot map.
        """
        slot: Any = key_slot(key.encode())  # an int; redis-py's annotation says str
        return self._cluster.nodes_manager.get_node_from_slot(slot)

    def client_of(self, key: str) -> redis.Redis:
        """A ``redis.Redis`` connected to the primary owning ``key``'s slot (for reads)."""
        return self._cluster.get_redis_connection(self.node_of(key))

    def refresh(self) -> None:
        """Reload the slot map from the cluster (CLUSTER SLOTS); a failure is only logged (the
        next send fails again and is retried)."""
        try:
            self._cluster.nodes_manager.initialize()
        except (redis.exceptions.RedisError, RedisClusterException) as exc:
            log.warning("could not refresh the Redis Cluster slot map: %s", exc)

    def send(self, calls: Sequence[Call]) -> tuple[list[Call], Exception | None]:
        """Apply ``calls`` with one pipeline per owning primary, then follow the ASK redirections
        (one ``ASKING`` + ``EVALSHA`` pipeline per target node).

        Args:
            calls: the script calls, at most one per user.

        Returns:
            The calls not applied (in their order) and the error to raise for them: a
            non-retryable error first, else a retryable one, else ``NoScriptError`` (the node
            lost its script cache; it is reloaded on the next send); ``([], None)`` when all
            were applied.
        """
        groups: dict[str, tuple[ClusterNode, list[Call]]] = {}
        failures: list[tuple[Call, Exception]] = []
        errors: list[Exception] = []
        for call in calls:
            try:
                node = self.node_of(call[0])
            except SlotNotCoveredError as exc:
                failures.append((call, exc))
                continue
            groups.setdefault(node.name, (node, []))[1].append(call)
        asked: dict[str, tuple[ClusterNode, list[Call]]] = {}
        for node, group in groups.values():
            for call, err in self._send_node(node, group, errors):
                target = self._ask_target(err)
                if target is None:
                    failures.append((call, err))
                else:
                    asked.setdefault(target.name, (target, []))[1].append(call)
        for target, group in asked.values():
            failures += self._send_node(target, group, errors, asking=True)
        order = {id(call): i for i, call in enumerate(calls)}
        failures.sort(key=lambda f: order[id(f[0])])
        return [call for call, _ in failures], _worst(errors + [err for _, err in failures])

    def _ask_target(self, exc: Exception) -> ClusterNode | None:
        """The node named by an ASK error (a known one, else a new one, e.g. a node joining the
        cluster that owns no slot yet); None when ``exc`` is not an ASK."""
        if not isinstance(exc, AskError) or isinstance(exc, MovedError):
            return None
        node = self._cluster.get_node(host=exc.host, port=exc.port)
        if node is None:
            name = f"{exc.host}:{exc.port}"
            node = self._extra.get(name) or self._extra.setdefault(
                name, ClusterNode(exc.host, exc.port, PRIMARY)
            )
        return node

    def _send_node(
        self, node: ClusterNode, group: list[Call], errors: list[Exception], asking: bool = False
    ) -> list[tuple[Call, Exception]]:
        """One pipeline to ``node`` (with ``asking``, each ``EVALSHA`` preceded by ``ASKING``);
        returns the calls that failed with their errors, appends a script load error to
        ``errors``."""
        load = node.name not in self._loaded
        pipe = self._cluster.get_redis_connection(node).pipeline(transaction=False)
        if load:
            pipe.script_load(self._script)
        for key, pkey, args in group:
            if asking:
                pipe.execute_command("ASKING")
            pipe.evalsha(self.sha, 2, key, pkey, *args)
        try:
            results = pipe.execute(raise_on_error=False)
        except redis.exceptions.RedisError as exc:  # connection lost, timeout: all unknown
            self._loaded.discard(node.name)
            return [(call, exc) for call in group]
        if load:
            first = results.pop(0)
            if isinstance(first, Exception):  # e.g. NOPERM: raised, not retried
                errors.append(first)
            else:
                self._loaded.add(node.name)
        if asking:  # (ASKING, EVALSHA) pairs: a failed ASKING (e.g. NOPERM) is the call's error
            pairs = zip(results[0::2], results[1::2], strict=True)
            results = [a if isinstance(a, Exception) else r for a, r in pairs]
        failed: list[tuple[Call, Exception]] = []
        for call, res in zip(group, results, strict=True):
            if isinstance(res, Exception):
                if isinstance(res, NoScriptError):
                    self._loaded.discard(node.name)
                failed.append((call, res))
        return failed


def _worst(errors: list[Exception]) -> Exception | None:
    """The error to raise for a send: non-retryable > retryable > NOSCRIPT; None if no error."""

    def rank(e: Exception) -> int:
        if isinstance(e, NoScriptError):
            return 2
        return 1 if isinstance(e, CLUSTER_RETRYABLE) else 0

    return min(errors, key=rank) if errors else None
