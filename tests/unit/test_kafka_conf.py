"""Kafka SASL / TLS settings: validation and the exact client configurations they map to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from userpulse import kafka_conf
from userpulse.kafka_conf import (
    KafkaConfError,
    jaas_config,
    jaas_quote,
    java_client_properties,
    librdkafka_config,
    redacted,
)
from userpulse.settings import Settings

PASSWORD = 'pa"ss\\w0rd'  # a quote and a backslash: both need escaping in JAAS
KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(_env_file=None, home=tmp_path, **kw)  # type: ignore[call-arg]


def _sasl(tmp_path: Path, **kw: Any) -> Settings:
    base = {
        "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_username": "alice",
        "kafka_sasl_password": PASSWORD,
    }
    return _settings(tmp_path, **{**base, **kw})


def _pem(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_plaintext_maps_to_nothing(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    assert s.kafka_security_protocol == "PLAINTEXT"
    assert librdkafka_config(s) == {}
    assert java_client_properties(s) == {}


def test_sasl_plaintext_scram(tmp_path: Path) -> None:
    s = _sasl(tmp_path)
    assert librdkafka_config(s) == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": PASSWORD,
    }
    assert java_client_properties(s) == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="alice" password="pa\\"ss\\\\w0rd";',
    }


def test_sasl_ssl_plain_with_ca_and_client_cert(tmp_path: Path) -> None:
    ca = _pem(tmp_path, "ca.crt", CERT)
    both = _pem(tmp_path, "client.pem", KEY + CERT)
    s = _sasl(
        tmp_path,
        kafka_security_protocol="sasl_ssl",  # case-insensitive, normalised
        kafka_sasl_mechanism="plain",
        kafka_ssl_ca_file=ca,
        kafka_ssl_cert_file=both,
        kafka_ssl_key_file=both,
    )
    assert librdkafka_config(s) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "PLAIN",
        "sasl.username": "alice",
        "sasl.password": PASSWORD,
        "ssl.ca.location": str(ca),
        "ssl.certificate.location": str(both),
        "ssl.key.location": str(both),
    }
    assert java_client_properties(s) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="alice" password="pa\\"ss\\\\w0rd";',
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(ca),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(both),
    }


def test_ssl_only_ca(tmp_path: Path) -> None:
    ca = _pem(tmp_path, "ca.crt", CERT)
    s = _settings(tmp_path, kafka_security_protocol="SSL", kafka_ssl_ca_file=ca)
    assert librdkafka_config(s) == {"security.protocol": "SSL", "ssl.ca.location": str(ca)}
    assert java_client_properties(s) == {
        "security.protocol": "SSL",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(ca),
    }


def test_java_keystore_needs_key_and_chain_in_one_pkcs8_file(tmp_path: Path) -> None:
    cert = _pem(tmp_path, "client.crt", CERT)
    key = _pem(tmp_path, "client.key", KEY)
    s = _settings(
        tmp_path, kafka_security_protocol="SSL", kafka_ssl_cert_file=cert, kafka_ssl_key_file=key
    )
    assert librdkafka_config(s)["ssl.key.location"] == str(key)  # librdkafka takes two files
    with pytest.raises(KafkaConfError, match=r"cat client.key client.crt > client.pem"):
        java_client_properties(s)
    pkcs1 = _pem(tmp_path, "rsa.pem", KEY.replace("PRIVATE", "RSA PRIVATE") + CERT)
    s = s.model_copy(update={"kafka_ssl_cert_file": pkcs1, "kafka_ssl_key_file": pkcs1})
    with pytest.raises(KafkaConfError, match=r"PKCS#8 only: convert it with `openssl pkcs8"):
        java_client_properties(s)


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ('\\"', '"\\\\\\""'),
        ("", '""'),
        ("x y;z=1", '"x y;z=1"'),
    ],
)
def test_jaas_quote(value: str, quoted: str) -> None:
    assert jaas_quote(value) == quoted


def test_jaas_config_modules() -> None:
    assert jaas_config("PLAIN", "u", "p") == (
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" '
        'password="p";'
    )
    assert jaas_config("SCRAM-SHA-256", "u", "p").startswith(
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
    )
    with pytest.raises(KafkaConfError, match="use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"):
        jaas_config("GSSAPI", "u", "p")


def test_secret_not_in_repr_str_or_redacted(tmp_path: Path) -> None:
    s = _sasl(tmp_path)
    for text in (repr(s), str(s), repr(s.kafka_sasl_password), s.model_dump_json()):
        assert "w0rd" not in text
    shown = redacted(librdkafka_config(s)) | redacted(java_client_properties(s))
    assert shown["sasl.password"] == kafka_conf.MASK
    assert shown["sasl.jaas.config"] == kafka_conf.MASK
    assert shown["sasl.username"] == "alice"
    assert "w0rd" not in repr(shown)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"kafka_security_protocol": "SASL_SSL"},
            "kafka_security_protocol=SASL_SSL needs kafka_sasl_mechanism "
            "(USERPULSE_KAFKA_SASL_MECHANISM), kafka_sasl_username (USERPULSE_KAFKA_SASL_USERNAME),"
            " kafka_sasl_password (USERPULSE_KAFKA_SASL_PASSWORD); set them, or choose PLAINTEXT",
        ),
        (
            {
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "PLAIN",
                "kafka_sasl_username": "u",
            },
            "needs kafka_sasl_password (USERPULSE_KAFKA_SASL_PASSWORD); set them",
        ),
        (
            {"kafka_sasl_username": "u"},
            "kafka_sasl_* settings are set but kafka_security_protocol=PLAINTEXT; set "
            "USERPULSE_KAFKA_SECURITY_PROTOCOL to SASL_SSL or SASL_PLAINTEXT",
        ),
        (
            {"kafka_security_protocol": "TLS"},
            "kafka_security_protocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
        ),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "GSSAPI"},
            "kafka_sasl_mechanism must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
        ),
        ({"kafka_ssl_ca_file": "/nonexistent/ca.pem"}, "no such file /nonexistent/ca.pem"),
    ],
)
def test_validation_errors_say_what_to_change(
    tmp_path: Path, kw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        _settings(tmp_path, **kw)
    assert message in str(info.value)


def test_validation_tls_files_need_a_tls_protocol_and_pairs(tmp_path: Path) -> None:
    ca = _pem(tmp_path, "ca.crt", CERT)
    with pytest.raises(ValidationError, match=r"kafka_ssl_ca_file set but kafka_security_protoc"):
        _settings(tmp_path, kafka_ssl_ca_file=ca)
    with pytest.raises(ValidationError, match="set both kafka_ssl_cert_file and kafka_ssl_key"):
        _settings(tmp_path, kafka_security_protocol="SSL", kafka_ssl_cert_file=ca)


def test_validation_error_never_echoes_the_password(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:  # username missing, password given
        _settings(
            tmp_path,
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="PLAIN",
            kafka_sasl_password="hunter2-secret",
        )
    assert "needs kafka_sasl_username" in str(info.value)
    assert "hunter2" not in str(info.value)
    with pytest.raises(ValidationError) as info:  # SASL fields on a plaintext protocol
        _settings(tmp_path, kafka_sasl_username="u", kafka_sasl_password="hunter2-secret")
    assert "hunter2" not in str(info.value)


def test_environment_variables_reach_the_settings(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "USERPULSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "USERPULSE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "USERPULSE_KAFKA_SASL_USERNAME": "bob",
        "USERPULSE_KAFKA_SASL_PASSWORD": "s3cret",
        "USERPULSE_SETTINGS_FILE": str(tmp_path / "none.env"),
    }
    code = (
        "from userpulse.settings import Settings; from userpulse.kafka_conf import "
        "librdkafka_config as c; print(sorted(c(Settings()).items()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == str(
        [
            ("sasl.mechanisms", "SCRAM-SHA-256"),
            ("sasl.password", "s3cret"),
            ("sasl.username", "bob"),
            ("security.protocol", "SASL_SSL"),
        ]
    )


def test_flink_source_carries_the_properties(tmp_path: Path) -> None:
    pipeline = pytest.importorskip("userpulse.jobs.pipeline")
    s = _sasl(tmp_path, kafka_sasl_password="it's")
    props = pipeline.source_properties(s)
    assert props["bootstrap.servers"] == s.kafka_bootstrap
    assert props["security.protocol"] == "SASL_PLAINTEXT"
    assert props["sasl.mechanism"] == "SCRAM-SHA-512"
    assert props["sasl.jaas.config"] == (
        "org.apache.kafka.common.security.scram.ScramLoginModule"
        ' required username="alice" password="it\'s";'
    )
    plain = pipeline.source_properties(_settings(tmp_path))
    assert "security.protocol" not in plain
