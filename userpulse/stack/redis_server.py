"""The local Redis: ``redis-server`` from the OS, or an already reachable one (reused)."""

from __future__ import annotations

import shutil
from pathlib import Path

import redis

from userpulse.settings import Settings
from userpulse.stack.process import StackError, _ManagedProcess


class RedisServer(_ManagedProcess):
    """The local Redis (``redis-server`` from the OS), or an already reachable one (reused)."""

    name = "redis"
    marker = "redis-server"

    def __init__(self, settings: Settings, executable: str = "redis-server") -> None:
        super().__init__(settings, settings.home / "redis")
        self.executable = executable

    @property
    def log_file(self) -> Path:
        """``<home>/redis/redis.log``."""
        return self.dir / "redis.log"

    @property
    def address(self) -> str:
        """``host:port`` of the server."""
        return f"{self.settings.redis_host}:{self.settings.redis_port}"

    def healthy(self) -> bool:
        """True when the server answers PING within one second."""
        client = redis.Redis(
            host=self.settings.redis_host,
            port=self.settings.redis_port,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
        )
        try:
            return bool(client.ping())
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
        argv = [
            exe,
            "--port",
            str(self.settings.redis_port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--daemonize",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(self.log_file),
        ]
        pid = self._spawn(argv, self.output_file)
        self._wait_healthy(pid, timeout_s)
        return pid

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop our redis-server (a reused external one is left alone); see base class."""
        return super().stop(timeout_s)
