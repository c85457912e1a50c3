"""The local Redis: ``redis-server`` from the OS, or an already reachable one (reused).

A Redis we start loads ``<home>/redis/users.acl`` (written on every start by
:mod:`userpulse.redis_acl`): the default user is off and the ``job`` / ``lookup`` / ``admin`` users
exist with their passwords (generated once into ``<home>/redis/credentials/``, mode 0600, or taken
from ``USERPULSE_REDIS_<ROLE>_PASSWORD``). A Redis we did not start is reused as it is: no users
are created on it, and clients authenticate only with credentials that are configured.

A Redis we start keeps its data in an append-only file under ``<home>/redis/appendonly/``
(:data:`DURABILITY_ARGS`), so a crash or restart of it loses at most about one second of writes.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import redis

from userpulse import redis_acl, redis_conn
from userpulse.settings import Settings
from userpulse.stack.process import StackError, _ManagedProcess

# Durability of the Redis we start: an append-only file fsynced once a second (Redis docs,
# "Redis persistence": everysec loses at most about one second of writes in a crash), no RDB
# snapshots. What a crash can still lose, the job rewrites from its state (docs/operations.md).
# The AOF is rewritten (a fork, and a child writing the whole dataset) once it has grown by its
# base's size and is at least AOF_REWRITE_MIN_SIZE. At Redis's default, 64 MiB, the bench's A/B
# runs saw 1-5 rewrites a minute under the job's writes, and the slow freshness probes clustered
# on them (docs/bench.md, 2026-12-02). A 1 GiB AOF replays in ~4.4 s at a restart on a 2-core
# machine (measured, docs/operations.md).
AOF_REWRITE_MIN_SIZE = "1gb"
DURABILITY_ARGS = (
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
    "--auto-aof-rewrite-min-size",
    AOF_REWRITE_MIN_SIZE,
    "--appenddirname",
    "appendonly",
    "--save",
    "",
)


class RedisServer(_ManagedProcess):
    """The local Redis (``redis-server`` from the OS), or an already reachable one (reused)."""

    name = "redis"
    marker = "redis-server"

    def __init__(
        self,
        settings: Settings,
        executable: str = "redis-server",
        extra_args: Sequence[str] = (),
    ) -> None:
        """Args:
        settings: host/port, home, credentials; with ``redis_tls`` the port is a TLS port.
        executable: the redis-server binary (name on PATH or path).
        extra_args: more ``redis-server`` arguments, e.g. ``--tls-cert-file``, ``--tls-key-file``,
            ``--tls-ca-cert-file`` for a TLS server (required with ``redis_tls``).
        """
        super().__init__(settings, settings.home / "redis")
        self.executable = executable
        self.extra_args = list(extra_args)
        self.aclfile = self.dir / "users.acl"

    @property
    def log_file(self) -> Path:
        """``<home>/redis/redis.log``."""
        return self.dir / "redis.log"

    @property
    def address(self) -> str:
        """``host:port`` of the server."""
        return f"{self.settings.redis_host}:{self.settings.redis_port}"

    def healthy(self) -> bool:
        """True when a Redis answers on the port within one second.

        A refusal of our credentials (a Redis with other users, e.g. not ours) still counts as
        an answer: the server is up.
        """
        once = self.settings.model_copy(update={"redis_retries": 0})  # a probe: no retries
        client = redis_conn.connect(once, "admin", timeout_s=1.0)
        try:
            return bool(client.ping())
        except redis.AuthenticationError:
            return True
        except redis.ResponseError as e:  # NOAUTH / NOPERM: a server answered
            return "NOAUTH" in str(e) or "NOPERM" in str(e) or "WRONGPASS" in str(e)
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, timeout_s: float = 20.0) -> int | None:
        """Start ``redis-server`` unless ours runs or another Redis answers on the port.

        Returns:
            Our pid, or None when an external Redis is reused.

        Raises:
            StackError: redis-server missing, start-up failure or timeout (names the log).
        """
        running = self.pid()
        if running is not None:
            return running
        if self.healthy():
            return None  # someone else's Redis: reuse it, never stop it
        exe = shutil.which(self.executable)
        if exe is None:
            raise StackError(
                f"'{self.executable}' not found and no Redis answers on {self.address} "
                "(Debian: apt-get install redis-server)"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            redis_acl.write_aclfile(self.settings, self.aclfile)
        except (OSError, ValueError) as e:
            raise StackError(f"could not write the Redis ACL file {self.aclfile}: {e}") from e
        port = str(self.settings.redis_port)
        ports = ["--port", "0", "--tls-port", port] if self.settings.redis_tls else ["--port", port]
        argv = [
            exe,
            *ports,
            "--aclfile",
            str(self.aclfile),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--daemonize",
            "no",
            *DURABILITY_ARGS,
            "--logfile",
            str(self.log_file),
            *self.extra_args,
        ]
        pid = self._spawn(argv, self.output_file)
        self._wait_healthy(pid, timeout_s)
        return pid

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop our redis-server (a reused external one is left alone); see base class."""
        return super().stop(timeout_s)
