"""Kafka SASL through the project's own client configs, on a real KRaft broker.

A private broker (its own home and free ports) gets a second listener, SASL_PLAINTEXT with the
PLAIN mechanism, whose JAAS user list is written with :func:`userpulse.kafka_conf.jaas_quote`
and read by Kafka's own JAAS parser. The password holds a quote and a backslash, so a round trip
proves the escaping. Clients: confluent-kafka with :func:`kafka_conf.librdkafka_config`, and
Kafka's Java console tools with :func:`kafka_conf.java_client_properties` (the properties the
Flink connector gets).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from pydantic import SecretStr

from tests import REPO_ROOT
from tests.integration.conftest import _free_ports
from userpulse import kafka_conf
from userpulse.settings import Settings
from userpulse.stack.kafka import KafkaBroker, ensure_jars

pytestmark = pytest.mark.integration

USER = "alice"
PASSWORD = 'pa"ss\\w0rd sp'  # quote, backslash, space: all must survive JAAS quoting


@pytest.fixture(scope="module")
def sasl_broker() -> Iterator[tuple[Settings, str]]:
    """(client settings for the SASL listener, its bootstrap); the broker stops afterwards."""
    home = REPO_ROOT / ".userpulse" / "test" / f"sasl-{uuid.uuid4().hex[:8]}"
    port, controller, sasl_port = _free_ports(3)
    base = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=home,
        kafka_port=port,
        kafka_controller_port=controller,
    )
    ensure_jars(base)
    h = base.kafka_host
    module = kafka_conf.LOGIN_MODULES["PLAIN"]
    # server.properties is a java.util.Properties file: its loader eats one level of backslashes
    users = f"user_{USER}={kafka_conf.jaas_quote(PASSWORD)}".replace("\\", "\\\\")
    extra = f"""
listeners=PLAINTEXT://{h}:{port},CONTROLLER://{h}:{controller},SASL_PLAINTEXT://{h}:{sasl_port}
advertised.listeners=PLAINTEXT://{h}:{port},SASL_PLAINTEXT://{h}:{sasl_port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config={module} required {users};
"""
    broker = KafkaBroker(base, extra_properties=extra)
    broker.start()
    client = base.model_copy(
        update={
            "bootstrap_servers": f"{h}:{sasl_port}",
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": "PLAIN",
            "kafka_sasl_username": USER,
            "kafka_sasl_password": SecretStr(PASSWORD),  # model_copy does not validate
        }
    )
    try:
        yield client, f"{h}:{sasl_port}"
    finally:
        broker.stop()
        shutil.rmtree(home, ignore_errors=True)


def _create_topic(s: Settings, topic: str) -> None:
    admin = AdminClient({**kafka_conf.librdkafka_config(s), "bootstrap.servers": s.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)


def _consume(conf: dict[str, str], topic: str, n: int, timeout_s: float = 30.0) -> list[bytes]:
    c = Consumer({**conf, "group.id": uuid.uuid4().hex, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    out: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        m = c.poll(0.5)
        value = None if m is None or m.error() else m.value()
        if value is not None:
            out.append(value)
    c.close()
    return out


def test_confluent_produce_and_consume_with_sasl(sasl_broker: tuple[Settings, str]) -> None:
    s, bootstrap = sasl_broker
    topic = "sasl." + uuid.uuid4().hex[:8]
    _create_topic(s, topic)
    conf = {**kafka_conf.librdkafka_config(s), "bootstrap.servers": bootstrap}
    p = Producer(conf)
    for i in range(5):
        p.produce(topic, key=b"u", value=f"v{i}".encode())
    assert p.flush(30) == 0
    assert _consume(conf, topic, 5) == [f"v{i}".encode() for i in range(5)]


def test_unauthenticated_and_wrong_password_are_refused(sasl_broker: tuple[Settings, str]) -> None:
    s, bootstrap = sasl_broker
    wrong = s.model_copy(update={"kafka_sasl_password": SecretStr(PASSWORD + "x")})
    for conf in (
        {"bootstrap.servers": bootstrap},  # plaintext client on the SASL listener
        {**kafka_conf.librdkafka_config(wrong), "bootstrap.servers": bootstrap},
    ):
        admin = AdminClient({**conf, "socket.connection.setup.timeout.ms": 2000})
        with pytest.raises(KafkaException):
            admin.list_topics(timeout=5)


def _java_tool(s: Settings, main: str, props: Path, *args: str) -> subprocess.CompletedProcess[str]:
    java = shutil.which("java")
    assert java is not None
    cmd = [java, "-Xmx256m", "-cp", str(s.infra_lib / "kafka" / "*"), main, *args]
    cmd += ["--consumer.config", str(props)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, input="")


def test_java_client_properties_authenticate(
    sasl_broker: tuple[Settings, str], tmp_path: Path
) -> None:
    """The Flink connector's Java client config (JAAS string) logs in and reads records."""
    s, bootstrap = sasl_broker
    topic = "sasl.java." + uuid.uuid4().hex[:8]
    _create_topic(s, topic)
    conf = {**kafka_conf.librdkafka_config(s), "bootstrap.servers": bootstrap}
    p = Producer(conf)
    p.produce(topic, value=b"from-librdkafka")
    assert p.flush(30) == 0
    props = tmp_path / "client.properties"
    lines = [f"{k}={v}" for k, v in kafka_conf.java_client_properties(s).items()]
    # java.util.Properties treats backslash as an escape: double it in the file
    props.write_text("\n".join(line.replace("\\", "\\\\") for line in lines) + "\n")
    props.chmod(0o600)
    done = _java_tool(
        s,
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        props,
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        "1",
        "--timeout-ms",
        "60000",
    )
    assert done.stdout.strip() == "from-librdkafka", done.stderr[-2000:]
