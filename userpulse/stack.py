"""The local stack: one KRaft Kafka broker and one Redis, started and stopped by the project.

Everything lives under ``settings.home`` (default ``<repo>/.userpulse``)::

    <home>/kafka/server.properties   rendered from infra/kafka/server.properties.template
    <home>/kafka/data/               broker log dirs (formatted once, see ``.formatted``)
    <home>/kafka/logs/server.log     broker log (log4j2, infra/kafka/log4j2.yaml)
    <home>/kafka/stdout.log          JVM stdout/stderr (crashes before logging starts)
    <home>/kafka/kafka.pid
    <home>/redis/redis.log, redis.pid, stdout.log; also Redis's working dir

Processes are started detached (own session), so they outlive the command that started them;
``down`` stops them by the pid in the pid file. Starting twice is a no-op. A Redis that already
answers PING on the configured port is reused and never stopped by us.

All timeouts are in seconds (``*_s``). Errors are :class:`StackError` with a message that names
the log file to read.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

import redis
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from userpulse.settings import REPO_ROOT, Settings

INFRA_DIR = REPO_ROOT / "infra"
POM = INFRA_DIR / "pom.xml"
SERVER_PROPERTIES_TEMPLATE = INFRA_DIR / "kafka" / "server.properties.template"
LOG4J2_CONFIG = INFRA_DIR / "kafka" / "log4j2.yaml"
JARS_STAMP = ".stamp"  # file in settings.infra_lib, newer than the pom when the jars are current
KAFKA_HEAP_OPTS = ("-Xms256m", "-Xmx512m")

# Live Popen objects of processes started by this Python process, kept so that they are reaped
# (no zombies) and not reported by ResourceWarning when they outlive the local reference.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class StackError(RuntimeError):
    """The local stack could not be prepared, started, checked or stopped."""


# --- jars ------------------------------------------------------------------------------------


def ensure_jars(settings: Settings, mvn: str = "mvn", java: str = "java") -> Path:
    """Make sure the Kafka broker and Flink connector jars are in ``settings.infra_lib``.

    Runs ``mvn -q -B -f infra/pom.xml -Dlib.dir=<infra_lib> package`` when the jars are missing
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
    flink_ok = any((lib / "flink").glob("flink-sql-connector-kafka-*.jar"))
    fresh = stamp.exists() and (not POM.exists() or stamp.stat().st_mtime >= POM.stat().st_mtime)
    if kafka_ok and flink_ok and fresh:
        return lib
    mvn_path = shutil.which(mvn)
    if mvn_path is None:
        raise StackError(
            f"jars missing in {lib} and '{mvn}' not found on PATH to fetch them "
            "(Debian: apt-get install maven; then `make deps`)"
        )
    if not POM.exists():
        raise StackError(f"{POM} not found: run from a checkout of the userpulse repository")
    for sub in ("kafka", "flink"):  # copy-dependencies never deletes jars the pom dropped
        shutil.rmtree(lib / sub, ignore_errors=True)
    cmd = [mvn_path, "-q", "-B", "-f", str(POM), f"-Dlib.dir={lib}", "package"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(
            f"`{' '.join(cmd)}` failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
        )
    stamp.touch()
    return lib


# --- processes -------------------------------------------------------------------------------


def _port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when a TCP connection to ``host:port`` succeeds within ``timeout_s`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    """True when ``pid`` is a live (not zombie) process; reaps it if it is our dead child."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file, or '' when it does not exist."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _ManagedProcess:
    """A detached process identified by a pid file; subclasses say how to start and check it."""

    name = "process"
    marker = ""  # must appear in /proc/<pid>/cmdline, guards against a recycled pid

    def __init__(self, settings: Settings, directory: Path) -> None:
        self.settings = settings
        self.dir = directory
        self.pid_file = directory / f"{self.name}.pid"
        self.output_file = directory / "stdout.log"  # stdout + stderr of the process

    @property
    def log_file(self) -> Path:
        """The file to read when the process misbehaves."""
        raise NotImplementedError

    def pid(self) -> int | None:
        """Pid of our running process, or None (stale pid files are removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if _pid_alive(pid) and self._cmdline_matches(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def is_running(self) -> bool:
        """True when the process we started (pid file) is alive."""
        return self.pid() is not None

    def _cmdline_matches(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return True  # no /proc: trust the pid file
        return self.marker.encode() in cmdline

    def _diagnostics(self) -> str:
        """Where to look and the last lines of the log (or of stdout when the log is empty)."""
        tail = _tail(self.log_file) or _tail(self.output_file)
        return f"see {self.log_file} (and {self.output_file}):\n{tail}"

    def _spawn(self, argv: list[str], stdout: Path) -> int:
        """Start ``argv`` detached with output appended to ``stdout``; write the pid file."""
        stdout.parent.mkdir(parents=True, exist_ok=True)
        with open(stdout, "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,  # survives the shell / Ctrl-C of the starting command
            )
        _CHILDREN[proc.pid] = proc
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def _wait_healthy(self, pid: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise StackError(
                    f"{self.name} (pid {pid}) exited during start-up; {self._diagnostics()}"
                )
            if self.healthy():
                return
            time.sleep(0.2)
        self.stop()
        raise StackError(
            f"{self.name} (pid {pid}) not healthy after {timeout_s:.0f} s, stopped it; "
            f"{self._diagnostics()}"
        )

    def healthy(self) -> bool:
        """True when the service answers its health check."""
        raise NotImplementedError

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop our process: SIGTERM, wait up to ``timeout_s`` seconds, then SIGKILL.

        Returns:
            True when a process was stopped, False when none of ours was running.
        """
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True


class KafkaBroker(_ManagedProcess):
    """The local single-node KRaft broker (combined broker + controller), run from infra/lib."""

    name = "kafka"
    marker = "kafka.Kafka"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.home / "kafka")
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
            f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp",
            str(self.settings.infra_lib / "kafka" / "*"),
            main,
            *args,
        ]

    def render_properties(self) -> Path:
        """Write ``server.properties`` for the current settings; returns its path."""
        text = Template(SERVER_PROPERTIES_TEMPLATE.read_text()).substitute(
            kafka_host=self.settings.kafka_host,
            kafka_port=self.settings.kafka_port,
            controller_port=self.settings.kafka_controller_port,
            data_dir=self.data_dir,
        )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.properties.write_text(text)
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


def _new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (22 chars)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # Kafka's Uuid.randomUuid() avoids these as well
            return cid


# --- topics ----------------------------------------------------------------------------------


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 2000})


def _kafka_metadata_ok(bootstrap: str, timeout_s: float) -> bool:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    if not _port_open(host, int(port)):  # avoids librdkafka's connection-refused log spam
        return False
    try:
        md = _admin(bootstrap).list_topics(timeout=timeout_s)
    except KafkaException:
        return False
    return len(md.brokers) > 0


def list_topics(settings: Settings, timeout_s: float = 10.0) -> dict[str, int]:
    """Topic name -> partition count, internal topics (``__*``) left out."""
    md = _admin(settings.kafka_bootstrap).list_topics(timeout=timeout_s)
    return {n: len(t.partitions) for n, t in md.topics.items() if not n.startswith("__")}


def _wait_topics(
    admin: AdminClient, want: dict[str, int | None], timeout_s: float, what: str
) -> None:
    """Wait until each topic has the wanted partitions with leaders (None = absent)."""
    deadline = time.monotonic() + timeout_s
    while True:
        md = admin.list_topics(timeout=timeout_s)
        pending = []
        for name, parts in want.items():
            t = md.topics.get(name)
            if parts is None:
                if t is not None and t.error is None:
                    pending.append(name)
            elif (
                t is None
                or t.error is not None
                or len(t.partitions) < parts
                or any(p.leader < 0 for p in t.partitions.values())
            ):
                pending.append(name)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise StackError(f"topics {pending} not {what} after {timeout_s:.0f} s")
        time.sleep(0.1)


def default_topics(settings: Settings) -> dict[str, int]:
    """The project's topics: input (``topic_partitions``), dead-letter and late (1 each)."""
    return {
        settings.topic: settings.topic_partitions,
        settings.dead_letter_topic: 1,
        settings.late_topic: 1,
    }


def ensure_topics(
    settings: Settings, topics: dict[str, int] | None = None, timeout_s: float = 30.0
) -> list[str]:
    """Create the topics that do not exist yet (replication factor 1); existing ones are kept.

    Args:
        topics: name -> partitions; default :func:`default_topics`.
        timeout_s: Seconds to wait for creation and for every partition to have a leader.

    Returns:
        Names of the topics created by this call (empty when all existed).

    Raises:
        StackError: creation failed or timed out, or a topic exists with another partition count.
    """
    topics = default_topics(settings) if topics is None else topics
    admin = _admin(settings.kafka_bootstrap)
    existing = admin.list_topics(timeout=timeout_s).topics
    wrong = {
        n: len(existing[n].partitions)
        for n, p in topics.items()
        if n in existing and len(existing[n].partitions) != p
    }
    if wrong:
        raise StackError(
            "topics exist with other partition counts than wanted: "
            + ", ".join(f"{n} has {have}, wanted {topics[n]}" for n, have in wrong.items())
            + " (recreate them, which deletes their data, or change the settings)"
        )
    missing = [
        NewTopic(n, num_partitions=p, replication_factor=1)
        for n, p in topics.items()
        if n not in existing
    ]
    created = []
    if missing:
        for name, fut in admin.create_topics(missing, request_timeout=timeout_s).items():
            try:
                fut.result()
                created.append(name)
            except KafkaException as e:
                if e.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise StackError(f"creating topic {name!r} failed: {e}") from e
    _wait_topics(admin, {n: p for n, p in topics.items()}, timeout_s, "ready")
    return created


def delete_topics(settings: Settings, names: list[str], timeout_s: float = 30.0) -> None:
    """Delete topics (missing ones are ignored) and wait until they are gone."""
    admin = _admin(settings.kafka_bootstrap)
    existing = admin.list_topics(timeout=timeout_s).topics
    doomed = [n for n in names if n in existing]
    if not doomed:
        return
    for name, fut in admin.delete_topics(doomed, request_timeout=timeout_s).items():
        try:
            fut.result()
        except KafkaException as e:
            if e.args[0].name() != "UNKNOWN_TOPIC_OR_PART":
                raise StackError(f"deleting topic {name!r} failed: {e}") from e
    _wait_topics(admin, dict.fromkeys(doomed), timeout_s, "deleted")


def recreate_topic(settings: Settings, name: str, partitions: int, timeout_s: float = 30.0) -> None:
    """Delete ``name`` if it exists and create it empty with ``partitions`` partitions."""
    delete_topics(settings, [name], timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:  # right after a delete the controller may still report the name as taken
        try:
            ensure_topics(settings, {name: partitions}, timeout_s)
            return
        except StackError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# --- the whole stack -------------------------------------------------------------------------


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
    """Both services plus the topics (name -> partitions; empty when Kafka is unreachable)."""

    kafka: ServiceStatus
    redis: ServiceStatus
    topics: dict[str, int]

    @property
    def healthy(self) -> bool:
        """True when Kafka and Redis are both reachable."""
        return self.kafka.reachable and self.redis.reachable


def up(settings: Settings, timeout_s: float = 90.0) -> StackStatus:
    """Start what is not running (jars, broker, Redis) and create the project's topics.

    With ``settings.bootstrap_servers`` set, Kafka is external: no broker is started.
    Idempotent: a second call changes nothing and returns the same pids.

    Raises:
        StackError: any part failed to start (the message names its log file).
    """
    if settings.bootstrap_servers is None:
        ensure_jars(settings)
        KafkaBroker(settings).start(timeout_s)
    RedisServer(settings).start()
    ensure_topics(settings)
    return status(settings)


def down(settings: Settings) -> StackStatus:
    """Stop the Redis and the broker that userpulse started; data dirs are kept."""
    RedisServer(settings).stop()
    KafkaBroker(settings).stop()
    return status(settings)


def status(settings: Settings) -> StackStatus:
    """Probe both services without starting anything."""
    broker, server = KafkaBroker(settings), RedisServer(settings)
    kafka_ok = _kafka_metadata_ok(settings.kafka_bootstrap, timeout_s=3.0)
    topics = list_topics(settings) if kafka_ok else {}
    return StackStatus(
        kafka=ServiceStatus(
            "kafka", settings.kafka_bootstrap, kafka_ok, broker.pid(), broker.log_file
        ),
        redis=ServiceStatus(
            "redis", server.address, server.healthy(), server.pid(), server.log_file
        ),
        topics=topics,
    )
