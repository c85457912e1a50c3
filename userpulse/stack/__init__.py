"""The local stack: one KRaft Kafka broker and one Redis, started and stopped by the project.

Everything lives under ``settings.home`` (default ``<repo>/.userpulse``)::

    <home>/kafka/server.properties   rendered from infra/kafka/server.properties.template
    <home>/kafka/data/               broker log dirs (formatted once, see ``.formatted``)
    <home>/kafka/logs/server.log     broker log (log4j2, infra/kafka/log4j2.yaml)
    <home>/kafka/stdout.log          JVM stdout/stderr (crashes before logging starts)
    <home>/kafka/kafka.pid
    <home>/redis/redis.log, redis.pid, stdout.log; also Redis's working dir
    <home>/registry/             the schema registry, when wanted (settings.registry; registry.py)

Processes are started detached (own session), so they outlive the command that started them;
``down`` stops them by the pid in the pid file. Starting twice is a no-op. A Redis that already
answers PING on the configured port is reused and never stopped by us.

All timeouts are in seconds (``*_s``). Errors are :class:`StackError` with a message that names
the log file to read.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from userpulse import kafka_conf
from userpulse.settings import Settings
from userpulse.stack.kafka import (
    INFRA_DIR,
    JARS_STAMP,
    KAFKA_HEAP_OPTS,
    LOG4J2_CONFIG,
    POM,
    SERVER_PROPERTIES_TEMPLATE,
    KafkaBroker,
    ensure_jars,
)
from userpulse.stack.process import StackError
from userpulse.stack.redis_server import RedisServer
from userpulse.stack.registry import RegistryServer
from userpulse.stack.topics import (
    _kafka_metadata_ok,
    default_topics,
    delete_topics,
    ensure_topics,
    list_topics,
    recreate_topic,
)

__all__ = [
    "INFRA_DIR",
    "JARS_STAMP",
    "KAFKA_HEAP_OPTS",
    "LOG4J2_CONFIG",
    "POM",
    "SERVER_PROPERTIES_TEMPLATE",
    "KafkaBroker",
    "RedisServer",
    "RegistryServer",
    "ServiceStatus",
    "StackError",
    "StackStatus",
    "default_topics",
    "delete_topics",
    "down",
    "ensure_jars",
    "ensure_topics",
    "list_topics",
    "recreate_topic",
    "status",
    "stop_started",
    "up",
]


@dataclass(frozen=True)
class ServiceStatus:
    """One service of the stack.

    Attributes:
        name: ``kafka`` or ``redis``.
        address: ``host:port``.
        reachable: answers its health check (metadata / PING).
        pid: pid of the process userpulse started, None when not ours (or not running).
        log_file: where that process logs.
    """

    name: str
    address: str
    reachable: bool
    pid: int | None
    log_file: Path


@dataclass(frozen=True)
class StackStatus:
    """Both services plus the topics (name -> partitions; empty when Kafka is unreachable), and
    the local schema registry when it is wanted (``settings.registry``) or running."""

    kafka: ServiceStatus
    redis: ServiceStatus
    topics: dict[str, int]
    registry: ServiceStatus | None = None

    @property
    def healthy(self) -> bool:
        """True when Kafka and Redis are both reachable."""
        ok = self.kafka.reachable and self.redis.reachable
        return ok and (self.registry is None or self.registry.reachable)


def up(
    settings: Settings, timeout_s: float = 90.0, started: list[str] | None = None
) -> StackStatus:
    """Start what is not running (jars, broker, Redis, and the schema registry when
    ``settings.registry``) and create the project's topics.

    With ``settings.bootstrap_servers`` set, Kafka is external: no broker is started.
    Idempotent: a second call changes nothing and returns the same pids. All or nothing: when a
    part fails (or the call is interrupted), the services this call started are stopped again
    before the error propagates; those that ran before it (or an external Redis) are left alone.

    Args:
        settings: ports, home, credentials.
        timeout_s: seconds to wait for the broker to serve metadata.
        started: when given, the names (``kafka``, ``redis``, ``registry``) of the services this
            call started
            are appended, for :func:`stop_started` by a caller with more steps after ``up``.

    Raises:
        StackError: any part failed to start (the message names its log file and what was
            stopped again).
    """
    ours: list[str] = []
    try:
        if settings.bootstrap_servers is None:
            ensure_jars(settings)
            _start(KafkaBroker(settings), ours, timeout_s)
        _start(RedisServer(settings), ours)
        if settings.registry:
            _start(RegistryServer(settings), ours, max(timeout_s, 120.0))
        ensure_topics(settings)
    except BaseException as e:
        stop_started(settings, ours)
        if ours and isinstance(e, StackError):
            first, _, rest = str(e).partition("\n")
            note = f"; stopped again what this call had started: {', '.join(ours)}"
            tail = ":\n" + rest if rest else ""
            raise StackError(first.rstrip(" :") + note + tail) from e
        raise
    if started is not None:
        started.extend(ours)
    return status(settings)


def _start(
    service: KafkaBroker | RedisServer | RegistryServer,
    ours: list[str],
    timeout_s: float | None = None,
) -> None:
    """Start ``service`` (``timeout_s`` seconds, or its default); append its name to ``ours``
    when this call started its process."""
    before = service.pid()
    pid = service.start() if timeout_s is None else service.start(timeout_s)
    if before is None and pid is not None:
        ours.append(service.name)


def stop_started(settings: Settings, names: list[str]) -> None:
    """Stop the services named in ``names`` (``kafka``, ``redis``, ``registry``; from :func:`up`'s
    ``started``), last started first. Errors while stopping are not raised: this runs on the way
    out of a failure, whose error is the one to report."""
    services: dict[str, type[KafkaBroker | RedisServer | RegistryServer]] = {
        "kafka": KafkaBroker,
        "redis": RedisServer,
        "registry": RegistryServer,
    }
    for name in reversed(names):
        with contextlib.suppress(OSError, StackError):
            services[name](settings).stop()


def down(settings: Settings) -> StackStatus:
    """Stop the registry, Redis and broker that userpulse started; data dirs are kept."""
    RegistryServer(settings).stop()
    RedisServer(settings).stop()
    KafkaBroker(settings).stop()
    return status(settings)


def status(settings: Settings) -> StackStatus:
    """Probe both services without starting anything."""
    broker, server = KafkaBroker(settings), RedisServer(settings)
    kafka_ok = _kafka_metadata_ok(
        settings.kafka_bootstrap, timeout_s=3.0, config=kafka_conf.librdkafka_config(settings)
    )
    topics = list_topics(settings) if kafka_ok else {}
    reg = RegistryServer(settings)
    reg_pid = reg.pid()
    registry = None
    if settings.registry or reg_pid is not None:
        registry = ServiceStatus("registry", reg.address, reg.healthy(), reg_pid, reg.log_file)
    return StackStatus(
        kafka=ServiceStatus(
            "kafka", settings.kafka_bootstrap, kafka_ok, broker.pid(), broker.log_file
        ),
        redis=ServiceStatus(
            "redis", server.address, server.healthy(), server.pid(), server.log_file
        ),
        topics=topics,
        registry=registry,
    )
