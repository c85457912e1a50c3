"""Kafka security settings mapped to client configurations (pure: no client is built here).

Two clients talk to Kafka in this project and they spell the same thing differently:

- confluent-kafka (librdkafka): producers, the local-stack admin client, test readers.
  :func:`librdkafka_config` gives ``security.protocol``, ``sasl.mechanisms``, ``sasl.username``,
  ``sasl.password``, ``ssl.ca.location``, ``ssl.certificate.location``, ``ssl.key.location``
  (names: librdkafka CONFIGURATION.md).
- The Java Kafka client inside the Flink Kafka connector (source and sinks of the job).
  :func:`java_client_properties` gives ``security.protocol``, ``sasl.mechanism``,
  ``sasl.jaas.config`` (``PlainLoginModule`` / ``ScramLoginModule`` with quoted, escaped
  credentials) and PEM trust/key stores (``ssl.truststore.type=PEM``, ``ssl.keystore.type=PEM``;
  Kafka KIP-651). A PEM key store is ONE file holding the PKCS#8 private key and the certificate
  chain, so the Java side needs the key file to contain the certificate too (see
  :func:`java_client_properties`).

With ``kafka_security_protocol=PLAINTEXT`` (the default) both functions return ``{}`` so that a
local, unauthenticated broker gets exactly the configuration it always had.

The returned dicts necessarily hold the SASL password in clear text: hand them to a client, never
to a log; :func:`redacted` masks them for printing. Settings validation (``userpulse.settings``)
guarantees that a SASL protocol comes with a mechanism, a username and a password.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from userpulse.errors import UserpulseError
from userpulse.settings import Settings

LOGIN_MODULES: dict[str, str] = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
"""JAAS login module of each SASL mechanism (Kafka client docs, "Authentication using SASL")."""

SECRET_KEYS = frozenset({"sasl.password", "sasl.jaas.config", "ssl.key.password"})
"""Config keys whose values :func:`redacted` masks."""

MASK = "**********"


class KafkaConfError(UserpulseError, ValueError):
    """The settings cannot be expressed for one of the clients (the message says what to do)."""


def _sasl(settings: Settings) -> tuple[str, str, str] | None:
    """(mechanism, username, password) when the protocol uses SASL, else None."""
    if not settings.kafka_security_protocol.startswith("SASL_"):
        return None
    mech, user, pw = (
        settings.kafka_sasl_mechanism,
        settings.kafka_sasl_username,
        settings.kafka_sasl_password,
    )
    if mech is None or user is None or pw is None:  # settings validation prevents this
        raise KafkaConfError(
            f"kafka_security_protocol={settings.kafka_security_protocol} needs "
            "kafka_sasl_mechanism, kafka_sasl_username and kafka_sasl_password"
        )
    return mech, user, pw.get_secret_value()


def librdkafka_config(settings: Settings) -> dict[str, str]:
    """librdkafka (confluent-kafka) properties for the Kafka security settings.

    Args:
        settings: validated settings (``kafka_security_protocol``, ``kafka_sasl_*``,
            ``kafka_ssl_*``).

    Returns:
        Property name -> value, to merge into a Producer / Consumer / AdminClient config; ``{}``
        for PLAINTEXT. Holds the SASL password in clear text (see :func:`redacted`).
    """
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    conf = {"security.protocol": protocol}
    sasl = _sasl(settings)
    if sasl is not None:
        mech, user, pw = sasl
        conf |= {"sasl.mechanisms": mech, "sasl.username": user, "sasl.password": pw}
    if settings.kafka_ssl_ca_file is not None:
        conf["ssl.ca.location"] = str(settings.kafka_ssl_ca_file)
    if settings.kafka_ssl_cert_file is not None and settings.kafka_ssl_key_file is not None:
        conf["ssl.certificate.location"] = str(settings.kafka_ssl_cert_file)
        conf["ssl.key.location"] = str(settings.kafka_ssl_key_file)
    return conf


def jaas_quote(value: str) -> str:
    """``value`` as a double-quoted JAAS option value.

    Kafka parses ``sasl.jaas.config`` with ``java.io.StreamTokenizer`` (``JaasConfig``): inside
    a quoted string a backslash escapes the next character, so ``\\`` and ``"`` are escaped.

    Example: ``pa"ss\\1`` -> ``"pa\\"ss\\\\1"``.
    """
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def jaas_config(mechanism: str, username: str, password: str) -> str:
    """The ``sasl.jaas.config`` value of a Java Kafka client.

    Args:
        mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
        username, password: the client's credentials (any characters; quoted and escaped).

    Returns:
        ``<LoginModule> required username="..." password="...";``

    Raises:
        KafkaConfError: unknown mechanism.
    """
    module = LOGIN_MODULES.get(mechanism)
    if module is None:
        raise KafkaConfError(
            f"unknown SASL mechanism {mechanism!r}; use one of {', '.join(LOGIN_MODULES)}"
        )
    return f"{module} required username={jaas_quote(username)} password={jaas_quote(password)};"


def _pem_blocks(path: Path) -> set[str]:
    """Labels of the PEM blocks in ``path`` (``CERTIFICATE``, ``PRIVATE KEY``, ...)."""
    labels = set()
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("-----BEGIN ") and line.endswith("-----"):
            labels.add(line[len("-----BEGIN ") : -len("-----")])
    return labels


def java_client_properties(settings: Settings) -> dict[str, str]:
    """Java Kafka client properties (for the Flink Kafka connector) of the security settings.

    The PEM files are referenced by path: they must exist at the same path on every Flink
    TaskManager (a mounted secret in Kubernetes), not only where the job is built.

    Args:
        settings: validated settings.

    Returns:
        Property name -> value (``{}`` for PLAINTEXT); prefix the names with ``properties.`` for
        a Flink SQL Kafka table, pass them to ``KafkaSink.builder().set_property`` as they are.
        Holds the SASL password in clear text inside ``sasl.jaas.config``.

    Raises:
        KafkaConfError: a client certificate whose key file does not also hold the certificate
            chain, or whose key is not PKCS#8 (the two forms the Java PEM key store reads); the
            message says how to produce the right file.
    """
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    props = {"security.protocol": protocol}
    sasl = _sasl(settings)
    if sasl is not None:
        mech, user, pw = sasl
        props |= {"sasl.mechanism": mech, "sasl.jaas.config": jaas_config(mech, user, pw)}
    if settings.kafka_ssl_ca_file is not None:
        props["ssl.truststore.type"] = "PEM"
        props["ssl.truststore.location"] = str(settings.kafka_ssl_ca_file)
    key = settings.kafka_ssl_key_file
    if key is not None:
        blocks = _pem_blocks(key)
        if blocks & {"RSA PRIVATE KEY", "EC PRIVATE KEY"}:
            raise KafkaConfError(
                f"{key} holds a PKCS#1/SEC1 key; the Java client reads PKCS#8 only: convert it "
                "with `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8`"
            )
        if "CERTIFICATE" not in blocks:
            raise KafkaConfError(
                f"{key} has no certificate: the Java client (Flink connector) reads the client "
                "certificate from ONE PEM file with the private key and the certificate chain; "
                "concatenate them (`cat client.key client.crt > client.pem`) and set both "
                "kafka_ssl_cert_file and kafka_ssl_key_file to that file"
            )
        props["ssl.keystore.type"] = "PEM"
        props["ssl.keystore.location"] = str(key)
    return props


def redacted(conf: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a client config with secret values (:data:`SECRET_KEYS`) masked, for logs."""
    return {k: (MASK if k in SECRET_KEYS else v) for k, v in conf.items()}
