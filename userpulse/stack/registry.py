"""The local schema registry: Apicurio Registry from Maven Central, on Java 21+.

``make registry`` (``mvn -f infra/registry/pom.xml package``) unpacks the Quarkus fast-jar into
``infra/lib/registry/``; :class:`RegistryServer` runs ``<registry_java> -jar quarkus-run.jar``
with both listeners on 127.0.0.1 (``quarkus.http.*`` on ``registry_port``: the APIs, the
Confluent-compatible one at ``/apis/ccompat/v7``; ``quarkus.management.*`` on
``registry_management_port``: ``/health/ready``) and its storage in an H2 database file, so
registered schemas and their ids survive a restart::

    <home>/registry/data/registry.mv.db   the H2 database
    <home>/registry/registry.log          the registry's log (Quarkus file log)
    <home>/registry/stdout.log, registry.pid

Start-up takes ~30 s on 2 cores; the JVM heap is capped by :data:`REGISTRY_HEAP`.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from userpulse.settings import Settings
from userpulse.stack.process import StackError, _ManagedProcess

REGISTRY_POM = Path(__file__).resolve().parents[2] / "infra" / "registry" / "pom.xml"
REGISTRY_HEAP = "-Xmx384m"
"""Heap cap of the registry JVM (Apicurio's own docs run it in 512 MiB containers)."""


class RegistryServer(_ManagedProcess):
    """The local Apicurio Registry (started and stopped by userpulse)."""

    name = "registry"
    marker = "quarkus-run.jar"

    def __init__(self, settings: Settings) -> None:
        """Args:
        settings: home, ``registry_port``, ``registry_management_port``, ``registry_java``,
            ``infra_lib`` (where ``infra/lib/registry/quarkus-run.jar`` is).
        """
        super().__init__(settings, settings.home / "registry")
        self.jar = settings.infra_lib / "registry" / "quarkus-run.jar"

    @property
    def log_file(self) -> Path:
        """``<home>/registry/registry.log``."""
        return self.dir / "registry.log"

    @property
    def address(self) -> str:
        """``host:port`` of the registry's HTTP API."""
        return f"127.0.0.1:{self.settings.registry_port}"

    @property
    def url(self) -> str:
        """Its Confluent-compatible API (what producers and the job use)."""
        return f"http://{self.address}/apis/ccompat/v7"

    def healthy(self) -> bool:
        """True when the management port answers ``/health/ready`` with 200 within 2 s."""
        port = self.settings.registry_management_port
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2.0)
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    def argv(self) -> list[str]:
        """The command line of the registry JVM."""
        s = self.settings
        props = {
            "quarkus.http.host": "127.0.0.1",
            "quarkus.http.port": s.registry_port,
            "quarkus.management.host": "127.0.0.1",
            "quarkus.management.port": s.registry_management_port,
            "apicurio.storage.kind": "sql",
            "apicurio.storage.sql.kind": "h2",
            "apicurio.datasource.url": f"jdbc:h2:file:{self.dir / 'data' / 'registry'}",
            "apicurio.datasource.username": "sa",
            "apicurio.datasource.password": "sa",
            "quarkus.log.file.enabled": "true",
            "quarkus.log.file.path": self.log_file,
            "quarkus.log.console.enabled": "false",
        }
        return [
            str(s.registry_java),
            REGISTRY_HEAP,
            *(f"-D{k}={v}" for k, v in props.items()),
            "-jar",
            str(self.jar),
        ]

    def start(self, timeout_s: float = 120.0) -> int:
        """Start the registry unless ours runs; wait until it is ready.

        Returns:
            Its pid.

        Raises:
            StackError: the registry is not unpacked (run ``make registry``), the Java is missing
                or older than 21, a port is taken, start-up failed or timed out (names the log).
        """
        running = self.pid()
        if running is not None:
            return running
        if not self.jar.is_file():
            raise StackError(
                f"no schema registry at {self.jar}: run `make registry` "
                f"(mvn -q -B -f {REGISTRY_POM} package)"
            )
        if not self.settings.registry_java.is_file():
            raise StackError(
                f"no Java at {self.settings.registry_java} for the schema registry (it needs "
                "Java 21+): set USERPULSE_REGISTRY_JAVA to a Java 21+ `bin/java`"
            )
        if self.healthy():
            raise StackError(
                f"port {self.settings.registry_management_port} already answers a health check "
                "(another registry?): stop it or set USERPULSE_REGISTRY_MANAGEMENT_PORT"
            )
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        pid = self._spawn(self.argv(), self.output_file)
        self._wait_healthy(pid, timeout_s)
        return pid
