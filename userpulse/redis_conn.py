"""The one place that opens Redis connections from settings, per role.

Roles: ``job`` (the feature job's writer), ``lookup`` (the client and the HTTP service: read-only
on the feature prefix), ``admin`` (project commands and tests: stack set-up, clean-up). Every
caller goes through :func:`connect` (or :func:`connect_async` / :func:`connect_cluster` /
:func:`connect_writer`), so
ACL credentials and TLS are configured once. Users, rules and password sources:
:mod:`userpulse.redis_acl`.

Credentials: the role's user name with its password from the environment / settings file or from
its password file; with neither, the connection is made without AUTH (Redis's default user),
which is what an external Redis without ACL users expects. Passwords never appear in the
``repr`` of the clients or in their errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
from redis.asyncio.connection import AsyncConnectCallbackProtocol
from redis.cluster import RedisCluster

from userpulse.config import RedisSettings
from userpulse.redis_acl import ROLES, Role, password, user_name

__all__ = [
    "Role",
    "client_kwargs",
    "connect",
    "connect_async",
    "connect_async_cluster",
    "connect_cluster",
    "connect_writer",
]


def client_kwargs(
    settings: RedisSettings, role: Role, timeout_s: float | None = None
) -> dict[str, Any]:
    """Keyword arguments of ``redis.Redis`` / ``redis.asyncio.Redis`` for ``role``.

    Args:
        settings: host, port, db, TLS and credential settings.
        role: ``job``, ``lookup`` or ``admin``.
        timeout_s: connect and socket timeout in seconds; default ``settings.redis_timeout_s``.

    Raises:
        ValueError: an unknown role, or an unusable password file (the message says what to do).
    """
    if role not in ROLES:
        raise ValueError(f"unknown Redis role {role!r}; use job, lookup or admin")
    t = settings.redis_timeout_s if timeout_s is None else timeout_s
    kw: dict[str, Any] = {
        "host": settings.redis_host,
        "port": settings.redis_port,
        "db": settings.redis_db,
        "socket_timeout": t,
        "socket_connect_timeout": t,
    }
    secret = password(settings, role)
    if secret is not None:
        kw["username"] = user_name(settings, role)
        kw["password"] = secret.get_secret_value()
    if settings.redis_tls:
        kw.update(
            ssl=True,
            ssl_cert_reqs="required",
            ssl_check_hostname=settings.redis_tls_check_hostname,
            ssl_ca_certs=_path(settings.redis_tls_ca_file),
            ssl_certfile=_path(settings.redis_tls_cert_file),
            ssl_keyfile=_path(settings.redis_tls_key_file),
        )
    return kw


def _path(p: object) -> str | None:
    return None if p is None else str(p)


try:  # redis-py >= 5.3; before it the same formula is called FullJitterBackoff
    from redis.backoff import (  # type: ignore[attr-defined,unused-ignore]
        ExponentialWithJitterBackoff as _Backoff,
    )
except ImportError:  # pragma: no cover - older redis-py
    from redis.backoff import FullJitterBackoff as _Backoff  # type: ignore[assignment,unused-ignore]

RETRY_BASE_S = 0.01
RETRY_CAP_S = 0.5
"""Backoff of a retried command: ``random() * min(RETRY_CAP_S, RETRY_BASE_S * 2**failures)``
seconds (redis-py's ``ExponentialWithJitterBackoff``, i.e. "full jitter" of the AWS
Architecture Blog's "Exponential Backoff And Jitter", 2015)."""
RETRY_ON = (redis.ConnectionError, redis.TimeoutError)
"""What is retried: the connection failed or timed out (every command the project's Python
clients send is a read or an absolute write, so repeating one is safe)."""


def retry_kwargs(settings: RedisSettings, asyncio: bool = False) -> dict[str, Any]:
    """``retry`` / ``retry_on_error`` keyword arguments of a redis-py client: up to
    ``settings.redis_retries`` retries of :data:`RETRY_ON` with :data:`RETRY_BASE_S` /
    :data:`RETRY_CAP_S` backoff with jitter. ``asyncio`` selects ``redis.asyncio``'s Retry."""
    cls = redis.asyncio.retry.Retry if asyncio else redis.retry.Retry
    policy = cls(_Backoff(cap=RETRY_CAP_S, base=RETRY_BASE_S), settings.redis_retries)
    return {"retry": policy, "retry_on_error": list(RETRY_ON)}


def connect(
    settings: RedisSettings,
    role: Role,
    timeout_s: float | None = None,
    on_connect: Callable[[Any], None] | None = None,
) -> redis.Redis:
    """A ``redis.Redis`` for ``role`` on ``settings.redis_host:redis_port`` / ``redis_db``.

    No I/O happens until the first command; a command that meets a connection error or timeout
    is retried (:func:`retry_kwargs`). See :func:`client_kwargs` for the arguments;
    ``on_connect`` replaces the hand-shake of each new connection (redis-py's
    ``redis_connect_func``: it must call ``conn.on_connect()``), e.g.
    :meth:`userpulse.lookup.runguard.RunGuard.on_connect`.

    Raises:
        ValueError: an unknown role or an unusable password file.
    """
    return redis.Redis(
        **client_kwargs(settings, role, timeout_s),
        **retry_kwargs(settings),
        redis_connect_func=on_connect,
    )


def connect_async(
    settings: RedisSettings,
    role: Role,
    timeout_s: float | None = None,
    max_connections: int = 64,
    on_connect: AsyncConnectCallbackProtocol | None = None,
) -> redis.asyncio.Redis:
    """A ``redis.asyncio.Redis`` for ``role``; same settings as :func:`connect`.

    Args:
        max_connections: size of the connection pool (concurrent commands in flight).
        on_connect: replaces the hand-shake of each new connection, as in :func:`connect`
            (a coroutine function).

    Raises:
        ValueError: an unknown role or an unusable password file.
    """
    return redis.asyncio.Redis(
        **client_kwargs(settings, role, timeout_s),
        **retry_kwargs(settings, asyncio=True),
        max_connections=max_connections,
        redis_connect_func=on_connect,
    )


def connect_async_cluster(
    settings: RedisSettings,
    role: Role,
    timeout_s: float | None = None,
    max_connections: int = 64,
    on_connect: Callable[[Any], Awaitable[None]] | None = None,
) -> redis.asyncio.RedisCluster:
    """A ``redis.asyncio.RedisCluster`` for ``role``, discovering the cluster from
    ``redis_host:redis_port`` (any node) on first use; same settings as :func:`connect`.

    Args:
        max_connections: connection pool size per node.
        on_connect: the hand-shake of each new connection to a node (it must await
            ``conn.on_connect()`` first), e.g.
            :meth:`userpulse.lookup.runguard.RunGuard.on_cluster_connect_async`. redis-py 5's
            asyncio cluster takes no ``redis_connect_func``; it builds every node from one dict
            of connection keyword arguments (``get_connection_kwargs()``, the startup nodes from
            copies), so the function is put there.

    Raises:
        ValueError: an unknown role or an unusable password file.
    """
    kw = client_kwargs(settings, role, timeout_s)
    kw.pop("db")  # a cluster has database 0 only
    rc: redis.asyncio.RedisCluster = redis.asyncio.RedisCluster(
        **kw, max_connections=max_connections
    )
    if on_connect is not None:
        rc.get_connection_kwargs()["redis_connect_func"] = on_connect
        for node in rc.nodes_manager.startup_nodes.values():
            node.connection_kwargs["redis_connect_func"] = on_connect
    return rc


def connect_cluster(
    settings: RedisSettings,
    role: Role,
    timeout_s: float | None = None,
    on_connect: Callable[[Any], None] | None = None,
) -> RedisCluster:
    """A ``redis.cluster.RedisCluster`` for ``role``, discovering the cluster from
    ``redis_host:redis_port`` (any node). Its pipelines send one batch per node.

    Args:
        on_connect: runs on each new connection to a node after the cluster client's own
            hand-shake (redis-py's ``redis_connect_func`` of a cluster), e.g.
            :meth:`userpulse.lookup.runguard.RunGuard.on_cluster_connect`.

    Raises:
        ValueError: an unknown role or an unusable password file.
    """
    kw = client_kwargs(settings, role, timeout_s)
    kw.pop("db")  # a cluster has database 0 only
    return RedisCluster(**kw, redis_connect_func=on_connect)


def connect_writer(
    settings: RedisSettings, role: Role = "job", timeout_s: float | None = None
) -> redis.Redis | RedisCluster:
    """The client ``settings`` ask for: a ``RedisCluster`` (:func:`connect_cluster`) when
    ``settings.redis_cluster`` is set, else a ``redis.Redis`` (:func:`connect`). What the job
    hands to :func:`userpulse.sinks.seed.seed` (tests and benchmarks writing as the job user).

    With a cluster, the slot map is read at once (CLUSTER SLOTS on ``redis_host:redis_port``);
    a single server is not contacted before the first command.

    Args:
        settings: host, port, db, TLS, credential and ``redis_cluster`` settings.
        role: the ACL role, ``job`` by default.
        timeout_s: connect and socket timeout in seconds; default ``settings.redis_timeout_s``.

    Raises:
        ValueError: an unknown role or an unusable password file.
        redis.exceptions.RedisClusterException: ``redis_cluster`` is set and no node of the
            cluster answered (or the node is not in cluster mode).
    """
    if settings.redis_cluster:
        return connect_cluster(settings, role, timeout_s)
    return connect(settings, role, timeout_s)
