"""Settings of Kafka: the local broker, topics, security, the schema registry and framing."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from userpulse.config.base import ComponentSettings


class KafkaSettings(ComponentSettings):
    """The broker (local or configured), topics, SASL/TLS, the schema registry and framing."""

    kafka_host: str = Field(
        default="127.0.0.1", description="Loopback address of the local broker."
    )
    kafka_port: int = Field(default=19092, ge=1, le=65535, description="Broker listener port.")
    kafka_controller_port: int = Field(
        default=19093, ge=1, le=65535, description="KRaft controller port."
    )

    # --- Kafka topics ------------------------------------------------------------------------
    bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers; default: the local broker."
    )
    topic: str = Field(default="userpulse.events", description="Input topic of Avro events.")
    topic_partitions: int = Field(
        default=3, ge=1, description="Partitions of the input topic when the project creates it."
    )
    dead_letter_topic: str = Field(default="userpulse.events.dlq", description="Dead-letter topic.")
    late_topic: str = Field(default="userpulse.events.late", description="Late-event output topic.")
    group_id: str = Field(default="userpulse-features", description="Consumer group of the job.")
    # Kafka security (docs/deploy.md; mapped to client configs by userpulse/kafka_conf.py). The
    # password is a SecretStr: masked in repr, str and logs; set it by environment or settings
    # file only. Cross-field checks sit on non-secret fields so that no error echoes it.
    kafka_security_protocol: str = Field(
        default="PLAINTEXT",
        description="Kafka security.protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.",
    )
    kafka_sasl_mechanism: str | None = Field(
        default=None, description="SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (environment or settings file, never a flag)."
    )
    kafka_sasl_username: str | None = Field(
        default=None,
        validate_default=True,  # the SASL completeness check runs even when it is unset
        description="SASL username.",
    )
    kafka_ssl_ca_file: Path | None = Field(
        default=None, description="CA bundle (PEM) that signed the brokers' certificates."
    )
    kafka_ssl_cert_file: Path | None = Field(
        default=None, description="Client certificate chain (PEM), when brokers require one."
    )
    kafka_ssl_key_file: Path | None = Field(
        default=None,
        validate_default=True,  # checked against the protocol and the cert even when unset
        description="Private key of the client certificate (PEM, PKCS#8, unencrypted).",
    )

    @field_validator("kafka_security_protocol")
    @classmethod
    def _kafka_protocol(cls, v: str) -> str:
        allowed = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
        if v.upper() not in allowed:
            raise ValueError(f"kafka_security_protocol must be one of {', '.join(allowed)}")
        return v.upper()

    @field_validator("kafka_sasl_mechanism")
    @classmethod
    def _kafka_mechanism(cls, v: str | None) -> str | None:
        allowed = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
        if v is not None and v.upper() not in allowed:
            raise ValueError(f"kafka_sasl_mechanism must be one of {', '.join(allowed)}")
        return None if v is None else v.upper()

    @field_validator("kafka_sasl_username")
    @classmethod
    def _kafka_sasl(cls, v: str | None, info: ValidationInfo) -> str | None:
        protocol = info.data.get("kafka_security_protocol")
        if protocol is None:  # the protocol itself was invalid and is reported on its own
            return v
        given = {
            "kafka_sasl_mechanism": info.data.get("kafka_sasl_mechanism"),
            "kafka_sasl_username": v,
            "kafka_sasl_password": info.data.get("kafka_sasl_password"),
        }
        if protocol.startswith("SASL_"):
            missing = [name for name, value in given.items() if not value]
            if missing:
                raise ValueError(
                    f"kafka_security_protocol={protocol} needs "
                    + ", ".join(f"{n} (USERPULSE_{n.upper()})" for n in missing)
                    + "; set them, or choose PLAINTEXT / SSL"
                )
        elif any(value is not None for value in given.values()):
            raise ValueError(
                f"kafka_sasl_* settings are set but kafka_security_protocol={protocol}; set "
                "USERPULSE_KAFKA_SECURITY_PROTOCOL to SASL_SSL or SASL_PLAINTEXT, or unset them"
            )
        return v

    @field_validator("kafka_ssl_ca_file", "kafka_ssl_cert_file", "kafka_ssl_key_file")
    @classmethod
    def _kafka_ssl_file(cls, v: Path | None, info: ValidationInfo) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"no such file {v}")
        if info.field_name != "kafka_ssl_key_file":
            return v
        cert = info.data.get("kafka_ssl_cert_file")
        if (v is None) != (cert is None):
            raise ValueError(
                "set both kafka_ssl_cert_file and kafka_ssl_key_file (a client certificate) "
                "or neither"
            )
        protocol = info.data.get("kafka_security_protocol")
        used = [n for n in ("kafka_ssl_ca_file", "kafka_ssl_cert_file") if info.data.get(n)]
        if protocol in ("PLAINTEXT", "SASL_PLAINTEXT") and used:
            raise ValueError(
                f"{', '.join(used)} set but kafka_security_protocol={protocol} does not use TLS; "
                "set USERPULSE_KAFKA_SECURITY_PROTOCOL to SSL or SASL_SSL, or unset them"
            )
        return v

    # --- schema registry and framing (design section 3; docs/schemas.md) ---------------------
    registry: bool = Field(
        default=False,
        description="Start the local schema registry (Apicurio Registry, `make registry`) with "
        "`userpulse up`, and use it (producers, job) when schema_registry_url is not set.",
    )
    registry_port: int = Field(
        default=18085, ge=1, le=65535, description="HTTP port of the local schema registry."
    )
    registry_management_port: int = Field(
        default=18086, ge=1, le=65535, description="Health port of the local schema registry."
    )
    registry_java: Path = Field(
        default=Path("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"),
        description="Java 21+ that runs the local registry (Kafka and Flink stay on Java 17).",
    )
    schema_registry_url: str | None = Field(
        default=None,
        description="Confluent-compatible Schema Registry API, e.g. "
        "http://host:8081 or http://host:8080/apis/ccompat/v7; default: the local registry "
        "when `registry` is on, else none (single-object framing only).",
    )
    schema_registry_timeout_s: float = Field(
        default=5.0, gt=0, le=10, description="Bound of one registry request, seconds (<= 10)."
    )
    schema_registry_cache_size: int = Field(
        default=1000,
        ge=1,
        description="Schemas the job keeps per registry cache (ids, fingerprints).",
    )
    schema_dir: Path | None = Field(
        default=None,
        description="Folder of the event .avsc files the job reads into (its reader schema) and "
        "producers write with; default: schemas/ of this build. For a job or producer deployed "
        "on another schema version.",
    )
    framing: str = Field(
        default="single-object",
        validate_default=True,  # checked against the registry settings even when unset
        description="Producers' wire format: single-object (registry-free) or confluent "
        "(needs a registry: schema_registry_url or registry).",
    )

    @field_validator("schema_registry_url")
    @classmethod
    def _registry_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"schema_registry_url must start with http:// or https://, got {v!r}")
        return None if v is None else v.rstrip("/")

    @field_validator("framing")
    @classmethod
    def _framing(cls, v: str, info: ValidationInfo) -> str:
        if v not in ("single-object", "confluent"):
            raise ValueError(f"framing must be 'single-object' or 'confluent', got {v!r}")
        if v == "confluent" and not (
            info.data.get("schema_registry_url") or info.data.get("registry")
        ):
            raise ValueError(
                "framing=confluent needs a schema registry: set USERPULSE_SCHEMA_REGISTRY_URL, "
                "or USERPULSE_REGISTRY=true for the local one (`userpulse up --registry`), or "
                "use framing=single-object"
            )
        return v

    @property
    def registry_url(self) -> str | None:
        """The schema registry's Confluent-compatible API (``schema_registry_url``, else the local
        registry's ``/apis/ccompat/v7`` when ``registry`` is on), or None: no registry."""
        if self.schema_registry_url:
            return self.schema_registry_url
        if self.registry:
            return f"http://127.0.0.1:{self.registry_port}/apis/ccompat/v7"
        return None

    @property
    def value_subject(self) -> str:
        """The registry subject of the input topic's values (TopicNameStrategy: <topic>-value)."""
        return f"{self.topic}-value"

    @property
    def kafka_bootstrap(self) -> str:
        """Bootstrap servers to use: the configured ones, else the local broker's listener."""
        return self.bootstrap_servers or f"{self.kafka_host}:{self.kafka_port}"
