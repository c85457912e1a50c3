"""The local KRaft Kafka broker and the jars it (and the Flink job) runs from."""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from pathlib import Path
from string import Template

from userpulse.settings import Settings
from userpulse.stack.process import StackError, _ManagedProcess, _port_open
from userpulse.stack.topics import _kafka_metadata_ok

# paths in the source checkout (``settings.checkout_dir``): the local stack builds its jars there
INFRA_DIR = Path("infra")
POM = INFRA_DIR / "pom.xml"
SERVER_PROPERTIES_TEMPLATE = INFRA_DIR / "kafka" / "server.properties.template"
LOG4J2_CONFIG = INFRA_DIR / "kafka" / "log4j2.yaml"
JARS_STAMP = ".stamp"  # file in settings.infra_lib, newer than the pom when the jars are current
KAFKA_HEAP_OPTS = ("-Xms256m", "-Xmx512m")


JVM_DIR = Path("jvm")
JVM_JAR = "userpulse-flink.jar"
"""The project's shaded jar (the per-event path, built from ``jvm/``) in ``<infra_lib>/flink``."""


def _newest_build_input_mtime(checkout: Path) -> float:
    """Newest mtime of what `mvn -f infra/pom.xml package` builds from (poms, the JVM sources)
    in the checkout ``checkout``."""
    jvm = checkout / JVM_DIR
    inputs = [checkout / POM, jvm / "pom.xml", *jvm.glob("src/main/**/*")]
    return max((p.stat().st_mtime for p in inputs if p.is_file()), default=0.0)


def ensure_jars(settings: Settings, mvn: str = "mvn", java: str = "java") -> Path:
    """Make sure the Kafka broker and Flink connector jars are in ``settings.infra_lib``.

    Runs ``mvn -q -B -f infra/pom.xml -Dlib.dir=<infra_lib> -DskipTests package`` (the JUnit
    tests run in ``make test``) when the jars are missing
    or older than the pom (a stamp file ``<infra_lib>/.stamp`` records the last good run).

    Args:
        settings: Where the jars go (``infra_lib``).
        mvn: Maven executable (name on PATH or path).
        java: Java executable, checked because the broker needs it.

    Returns:
        The ``infra_lib`` directory.

    Raises:
        StackError: java or mvn missing, or the Maven build failed (its output is included).
    """
    if shutil.which(java) is None:
        raise StackError(
            f"'{java}' not found on PATH: the Kafka broker needs Java 17+ "
            "(Debian: apt-get install openjdk-17-jre-headless)"
        )
    lib = settings.infra_lib
    stamp = lib / JARS_STAMP
    kafka_ok = any((lib / "kafka").glob("kafka_2.13-*.jar"))
    flink_ok = any((lib / "flink").glob("flink-sql-connector-kafka-*.jar")) and any(
        (lib / "flink").glob(JVM_JAR)
    )
    pom = settings.checkout_dir / POM
    fresh = stamp.exists() and stamp.stat().st_mtime >= _newest_build_input_mtime(
        settings.checkout_dir
    )
    if kafka_ok and flink_ok and fresh:
        return lib
    mvn_path = shutil.which(mvn)
    if mvn_path is None:
        raise StackError(
            f"jars missing in {lib} and '{mvn}' not found on PATH to fetch them "
            "(Debian: apt-get install maven; then `make deps`)"
        )
    if not pom.exists():
        raise StackError(
            f"{pom} not found: run from a checkout of the userpulse repository "
            "(or set USERPULSE_CHECKOUT_DIR to one)"
        )
    for sub in ("kafka", "flink"):  # copy-dependencies never deletes jars the pom dropped
        shutil.rmtree(lib / sub, ignore_errors=True)
    cmd = [mvn_path, "-q", "-B", "-f", str(pom), f"-Dlib.dir={lib}", "-DskipTests", "package"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(
            f"`{' '.join(cmd)}` failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
        )
    stamp.touch()
    return lib


class KafkaBroker(_ManagedProcess):
    """The local single-node KRaft broker (combined broker + controller), run from infra/lib."""

    name = "kafka"
    marker = "kafka.Kafka"

    def __init__(self, settings: Settings, extra_properties: str = "") -> None:
        """
        Args:
            settings: ports, host, home (the broker lives in ``<home>/kafka``).
            extra_properties: ``server.properties`` lines appended after the template; a key
                given again wins (Java properties), e.g. ``listeners`` with a SASL listener.
        """
        super().__init__(settings, settings.home / "kafka")
        self.extra_properties = extra_properties
        self.data_dir = self.dir / "data"
        self.logs_dir = self.dir / "logs"
        self.properties = self.dir / "server.properties"
        self.formatted_marker = self.dir / ".formatted"

    @property
    def log_file(self) -> Path:
        """``<home>/kafka/logs/server.log``."""
        return self.logs_dir / "server.log"

    @property
    def address(self) -> str:
        """``host:port`` of the PLAINTEXT listener."""
        return f"{self.settings.kafka_host}:{self.settings.kafka_port}"

    def _java(self, main: str, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise StackError("'java' not found on PATH: the Kafka broker needs Java 17+")
        return [
            java,
            *KAFKA_HEAP_OPTS,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.settings.checkout_dir / LOG4J2_CONFIG}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp",
            str(self.settings.infra_lib / "kafka" / "*"),
            main,
            *args,
        ]

    def render_properties(self) -> Path:
        """Write ``server.properties`` for the current settings; returns its path."""
        template = self.settings.checkout_dir / SERVER_PROPERTIES_TEMPLATE
        text = Template(template.read_text()).substitute(
            kafka_host=self.settings.kafka_host,
            kafka_port=self.settings.kafka_port,
            controller_port=self.settings.kafka_controller_port,
            data_dir=self.data_dir,
        )
        if self.extra_properties:
            text += "\n# --- extra properties (override the lines above) ---\n"
            text += self.extra_properties.rstrip("\n") + "\n"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.properties.write_text(text)
        self.properties.chmod(0o600)  # extra properties may hold JAAS credentials
        return self.properties

    def format_storage(self) -> str:
        """Format the KRaft log dir once (idempotent); returns the cluster id.

        The cluster id is kept in the ``.formatted`` marker; later calls only read it.
        """
        if self.formatted_marker.exists():
            return self.formatted_marker.read_text().strip()
        cluster_id = _new_cluster_id()
        cmd = self._java(
            "kafka.tools.StorageTool",
            "format",
            "--ignore-formatted",
            "-t",
            cluster_id,
            "-c",
            str(self.properties),
        )
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StackError(
                f"formatting {self.data_dir} failed (exit {done.returncode}):\n"
                f"{done.stdout}{done.stderr}"
            )
        self.formatted_marker.write_text(cluster_id + "\n")
        return cluster_id

    def start(self, timeout_s: float = 90.0) -> int:
        """Start the broker unless it is running; wait until it serves metadata.

        Args:
            timeout_s: Seconds to wait for the broker to answer a metadata request.

        Returns:
            The broker's pid.

        Raises:
            StackError: port taken by another process, start-up failure or timeout (names the log).
        """
        running = self.pid()
        if running is not None:
            return running
        host, port = self.settings.kafka_host, self.settings.kafka_port
        for p in (port, self.settings.kafka_controller_port):
            if _port_open(host, p):
                raise StackError(
                    f"port {host}:{p} is already in use by a process userpulse did not start "
                    f"(no live pid in {self.pid_file}); stop it or choose other ports "
                    "(USERPULSE_KAFKA_PORT, USERPULSE_KAFKA_CONTROLLER_PORT)"
                )
        self.render_properties()
        self.format_storage()
        pid = self._spawn(self._java("kafka.Kafka", str(self.properties)), self.output_file)
        self._wait_healthy(pid, timeout_s)
        return pid

    def healthy(self) -> bool:
        """True when the listener accepts TCP and an AdminClient lists topics with a broker."""
        return _kafka_metadata_ok(self.address, timeout_s=2.0)


def _new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (22 chars)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # Kafka's Uuid.randomUuid() avoids these as well
            return cid
