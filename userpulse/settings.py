"""Settings, built once at the entry point and passed down.

Precedence: command-line flags > environment variables (``USERPULSE_<NAME>``) > a settings file
(``userpulse.env`` in the working directory, or the file named by ``USERPULSE_SETTINGS_FILE``).
Library code never reads ``os.environ``; it receives a :class:`Settings`. Nothing is read at import:
the environment and the settings file are read when a :class:`Settings` is built.

No default depends on where the package is installed: paths default to the working directory
(``./.userpulse`` for the home folder, ``./infra/lib`` for the jars, ``.`` as the source checkout
the local stack builds from), which is the checkout when run through ``make`` or from its root;
set ``USERPULSE_HOME`` etc. to run from elsewhere. Relative paths are made absolute when the
settings are built.

Unknown ``USERPULSE_`` keys in the settings file are rejected (``extra="forbid"``) so that a typo
fails at start with the name of the setting to fix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SETTINGS_FILE = "userpulse.env"
"""The settings file read unless ``USERPULSE_SETTINGS_FILE`` names another (or ``_env_file=``)."""


def _cwd(*parts: str) -> Path:
    return Path.cwd().joinpath(*parts)


class Settings(BaseSettings):
    """All runtime settings of userpulse.

    Every field can be set by the environment variable ``USERPULSE_<FIELD_NAME_UPPER>``.
    Units are in the names (``_ms``, ``_s``). Times are UTC epoch milliseconds.
    """

    model_config = SettingsConfigDict(
        env_prefix="USERPULSE_",
        env_file=SETTINGS_FILE,
        extra="forbid",
    )

    def __init__(self, **values: Any) -> None:
        """Build the settings from ``values`` (field names; also pydantic-settings' ``_env_file``),
        the environment and the settings file (``USERPULSE_SETTINGS_FILE``, read now, not at
        import).

        Raises:
            pydantic.ValidationError: a value that does not validate (names the setting).
        """
        if "_env_file" not in values and "USERPULSE_SETTINGS_FILE" in os.environ:
            values["_env_file"] = os.environ["USERPULSE_SETTINGS_FILE"]
        super().__init__(**values)

    # --- local stack -------------------------------------------------------------------------
    home: Path = Field(
        default_factory=lambda: _cwd(".userpulse"),
        description="Project-owned folder for broker/redis data, logs and pid files "
        "(default: ./.userpulse in the working directory, never inside the installed package).",
    )
    checkout_dir: Path = Field(
        default_factory=_cwd,
        description="The source checkout the local stack builds the jars from (infra/pom.xml, "
        "jvm/) and reads the broker's config templates from (infra/kafka/); default: the working "
        "directory.",
    )
    replay_data_dir: Path | None = Field(
        default=None,
        description="Folder of the recorded logs the replay producer, the demo and the backfill "
        "read (ebnerd-sample/, globo-news-clicks/, otto-recsys-sample/); no default: "
        "`--data-dir` or this setting (make sets it to ../shared/data/real).",
    )
    kafka_host: str = Field(
        default="127.0.0.1", description="Loopback address of the local broker."
    )
    kafka_port: int = Field(default=19092, ge=1, le=65535, description="Broker listener port.")
    kafka_controller_port: int = Field(
        default=19093, ge=1, le=65535, description="KRaft controller port."
    )
    redis_host: str = Field(default="127.0.0.1", description="Host of the Redis online store.")
    redis_port: int = Field(default=16379, ge=1, le=65535, description="Redis port.")
    redis_db: int = Field(default=0, ge=0, description="Redis logical database.")

    # --- Redis access: ACL users per role, TLS (docs/lookup.md) -------------------------------
    # Passwords come from the environment / settings file or from files, never from flags; they
    # are SecretStr (masked in repr, str and logs). See userpulse/redis_conn.py for the order.
    redis_job_user: str = Field(default="userpulse-job", description="ACL user of the job.")
    redis_lookup_user: str = Field(
        default="userpulse-lookup", description="Read-only ACL user of the lookup client/service."
    )
    redis_admin_user: str = Field(
        default="userpulse-admin", description="ACL user of project commands and tests."
    )
    redis_job_password: SecretStr | None = Field(
        default=None, description="Password of the job user; default: <credentials dir>/job."
    )
    redis_lookup_password: SecretStr | None = Field(
        default=None, description="Password of the lookup user; default: <credentials dir>/lookup."
    )
    redis_admin_password: SecretStr | None = Field(
        default=None, description="Password of the admin user; default: <credentials dir>/admin."
    )
    redis_credentials_dir: Path | None = Field(
        default=None,
        description="Folder of password files named job, lookup, admin (mode 0600); "
        "default <home>/redis/credentials, written by `userpulse up`.",
    )
    redis_tls: bool = Field(default=False, description="Connect to Redis over TLS.")
    redis_tls_ca_file: Path | None = Field(
        default=None, description="CA bundle that signed the Redis server certificate (PEM)."
    )
    redis_tls_cert_file: Path | None = Field(
        default=None, description="Client certificate (PEM), when Redis requires client certs."
    )
    redis_tls_key_file: Path | None = Field(
        default=None,
        validate_default=True,  # checked against redis_tls_cert_file even when unset
        description="Private key of the client certificate (PEM).",
    )
    redis_tls_check_hostname: bool = Field(
        default=True, description="Check that the server certificate names redis_host."
    )
    redis_timeout_s: float = Field(
        default=5.0, gt=0, description="Redis connect and socket timeout, seconds."
    )
    redis_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries of a Redis command after a connection error or timeout (the "
        "Python clients: redis-py Retry, exponential backoff with full jitter, 10 ms doubling "
        "to at most 500 ms); 0 = none.",
    )
    redis_cluster: bool = Field(
        default=False,
        description="Redis Cluster for the job's writes and the lookups "
        "(redis_host:redis_port is any node of it).",
    )

    # --- lookup service --------------------------------------------------------------------------
    service_host: str = Field(default="127.0.0.1", description="Bind address of the HTTP service.")
    service_port: int = Field(default=18080, ge=1, le=65535, description="HTTP service port.")
    lookup_max_batch_users: int = Field(
        default=1000, ge=1, le=1000, description="Most users in one batch lookup (1..1000)."
    )
    service_workers: int = Field(
        default=1, ge=1, le=64, description="Worker processes of the HTTP service (uvicorn)."
    )
    service_request_deadline_ms: int = Field(
        default=250,
        ge=1,
        le=60_000,
        description="Longest wait for Redis per HTTP request (lookups and /readyz), ms; longer: "
        "503 store_timeout. Keeps a hung Redis from piling requests up.",
    )
    service_tls_cert_file: Path | None = Field(
        default=None, description="Certificate chain (PEM) of the HTTP service; set: HTTPS only."
    )
    service_tls_key_file: Path | None = Field(
        default=None,
        validate_default=True,  # checked against service_tls_cert_file even when unset
        description="Private key (PEM) of service_tls_cert_file.",
    )
    service_tls_client_ca_file: Path | None = Field(
        default=None,
        description="CA bundle (PEM): when set, HTTPS clients must present a certificate it "
        "signed (mutual TLS); needs service_tls_cert_file.",
    )
    service_teams_file: Path | None = Field(
        default=None,
        description="Teams file (JSON: API key hashes, features, batch, quotas; re-read when it "
        "changes); set: every /v1 request needs a team's API key. docs/lookup.md",
    )
    service_access_log: bool = Field(
        default=True,
        description="One access-log line per request at INFO (team, endpoint, status, "
        "duration, counts; never user ids or keys).",
    )
    infra_lib: Path = Field(
        default_factory=lambda: _cwd("infra", "lib"),
        description="Where `make deps` (mvn -f infra/pom.xml package) puts the jars (default: "
        "./infra/lib in the working directory).",
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
        description="Folder of the event .avsc files the job reads into (its reader schema); "
        "default: schemas/ of this build. For a job deployed on another schema version.",
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

    # --- event-time semantics (design section 4) --------------------------------------------
    out_of_orderness_ms: int = Field(default=5_000, ge=0, description="Bounded out-of-orderness.")
    allowed_lateness_ms: int = Field(default=600_000, ge=0, description="Allowed lateness.")
    idle_timeout_ms: int = Field(default=5_000, ge=1, description="Partition idleness timeout.")
    max_future_ms: int = Field(
        default=86_400_000, ge=0, description="Sane range: how far ahead of the clock."
    )
    max_clock_skew_ms: int = Field(
        default=60_000,
        ge=0,
        description="Event times further ahead of the job clock count, but move the watermark "
        "only to job clock + this (design section 4).",
    )

    # --- Redis writes --------------------------------------------------------------------------
    flush_interval_ms: int = Field(default=5, ge=1, le=1000, description="Max time a write waits.")
    flush_max_pending: int = Field(
        default=500, ge=1, description="Flush when this many users are pending."
    )
    store_loss_rewrite: bool = Field(
        default=True,
        description="Watch for store data loss (restart, FLUSHDB, eviction) and rewrite every "
        "user the job holds state of (docs/job.md); off only in the tests' controls.",
    )
    store_check_interval_ms: int = Field(
        default=1000,
        ge=10,
        le=86_400_000,
        description="How often the job checks the store generation marker and Redis's run_id.",
    )
    redis_ttl_s: int | None = Field(
        default=None, ge=1, description="Key TTL; default: longest window + allowed lateness + 1 h."
    )
    redis_profile_ttl_s: int = Field(
        default=400 * 86_400,
        ge=1,
        description="TTL of the profile key (lifetime features), refreshed on every write.",
    )

    # --- job -----------------------------------------------------------------------------------
    parallelism: int = Field(default=1, ge=1, description="Flink parallelism of the feature job.")
    checkpoint_interval_ms: int = Field(default=10_000, ge=100, description="Checkpoint interval.")
    buffer_timeout_ms: int = Field(
        default=5,
        ge=0,
        le=1000,
        description=(
            "Longest time (ms) a record waits in a network buffer between the job's operators "
            "(Flink execution.buffer-timeout.interval; 0 = send every record at once)."
        ),
    )
    job_metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Prometheus port of job workers; 0 = off."
    )
    job_metrics_host: str = Field(
        default="127.0.0.1",
        description="Bind address of the job workers' metrics (0.0.0.0 in containers).",
    )
    checkpoint_dir: Path | None = Field(
        default=None, description="Checkpoint storage; default: <home>/checkpoints."
    )
    restart_attempts: int = Field(
        default=0,
        ge=0,
        description="Restarts of the job after task failures before it fails for good; 0 = "
        "never give up (a crash loop shows in the restarts alert instead).",
    )
    restart_max_backoff_ms: int = Field(
        default=30_000,
        ge=1,
        description="Longest wait between restarts, ms (exponential from 1 s, x2 each restart; "
        "back to 1 s after 10 min without a failure).",
    )
    python_execution_mode: str = Field(
        default="thread", description="PyFlink python.execution-mode."
    )
    max_parallelism: int = Field(
        default=128,
        ge=1,
        le=32_768,
        description="Flink max parallelism (key groups); fixed for the life of the job's state: "
        "a savepoint restores only into the same value.",
    )
    savepoint_dir: Path | None = Field(
        default=None, description="Savepoint target folder; default: <home>/savepoints."
    )

    # --- Flink session cluster (`userpulse cluster`, `userpulse job submit ...`) ----------------
    flink_rest_url: str | None = Field(
        default=None,
        description="REST endpoint of the Flink cluster for `job` commands; default: the local "
        "session cluster (http://127.0.0.1:<flink_rest_port>).",
    )
    flink_rest_port: int = Field(
        default=18081, ge=1, le=65535, description="REST port of the local session cluster."
    )
    flink_rpc_port: int = Field(
        default=16123, ge=1, le=65535, description="JobManager RPC port of the local cluster."
    )
    flink_taskmanagers: int = Field(
        default=2, ge=1, le=16, description="TaskManagers of the local session cluster."
    )
    flink_slots_per_taskmanager: int = Field(
        default=1, ge=1, le=16, description="Task slots per TaskManager of the local cluster."
    )
    flink_taskmanager_memory: str = Field(
        default="1536m", pattern=r"^[0-9]+[mg]$", description="Process memory of a TaskManager."
    )
    flink_jobmanager_memory: str = Field(
        default="1024m", pattern=r"^[0-9]+[mg]$", description="Process memory of the JobManager."
    )
    flink_managed_memory_fraction: float = Field(
        default=0.1,
        ge=0.0,
        le=0.9,
        description="Share of a TaskManager's Flink memory given to managed memory (RocksDB, "
        "batch sorts); the rest of it is JVM heap, where the feature job's heap state lives "
        "(Flink's default 0.4 suits RocksDB).",
    )
    flink_taskmanager_java_opts: str = Field(
        default="",
        description="Extra JVM options of the local cluster's TaskManagers (env.java.opts."
        "taskmanager), e.g. a garbage collector: '-XX:+UseZGC'.",
    )
    flink_metrics_ports: str = Field(
        default="19249-19259",
        pattern=r"^[0-9]+(-[0-9]+)?$",
        description="Port range of Flink's Prometheus reporter on the local cluster (JM and TMs "
        "each take the first free one).",
    )

    @field_validator("home", "checkout_dir", "infra_lib", "replay_data_dir")
    @classmethod
    def _absolute(cls, v: Path | None) -> Path | None:
        # relative to the working directory at build time, not wherever a later step runs
        return None if v is None else v.expanduser().absolute()

    @field_validator("python_execution_mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("thread", "process"):
            raise ValueError("python_execution_mode must be 'thread' or 'process'")
        return v

    @field_validator("redis_tls_ca_file", "redis_tls_cert_file", "redis_tls_key_file")
    @classmethod
    def _tls_file(cls, v: Path | None, info: ValidationInfo) -> Path | None:
        # field-level on purpose: a model-level error would carry every input (secrets too)
        if v is not None and not v.is_file():
            raise ValueError(f"no such file {v}")
        if info.field_name == "redis_tls_key_file" and (v is None) != (
            info.data.get("redis_tls_cert_file") is None
        ):
            raise ValueError(
                "set both redis_tls_cert_file and redis_tls_key_file (a client certificate) "
                "or neither"
            )
        return v

    @field_validator(
        "service_tls_cert_file",
        "service_tls_key_file",
        "service_tls_client_ca_file",
        "service_teams_file",
    )
    @classmethod
    def _service_file(cls, v: Path | None, info: ValidationInfo) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"no such file {v}")
        name = info.field_name
        if name == "service_tls_key_file" and (v is None) != (
            info.data.get("service_tls_cert_file") is None
        ):
            raise ValueError("set both service_tls_cert_file and service_tls_key_file or neither")
        if (
            name == "service_tls_client_ca_file"
            and v is not None
            and info.data.get("service_tls_cert_file") is None
        ):
            raise ValueError("service_tls_client_ca_file needs service_tls_cert_file (HTTPS)")
        return v

    @property
    def credentials_dir(self) -> Path:
        """Folder of the Redis password files (``redis_credentials_dir``, else under home)."""
        return self.redis_credentials_dir or self.home / "redis" / "credentials"

    @property
    def rest_url(self) -> str:
        """REST endpoint of the Flink cluster (``flink_rest_url``, else the local one)."""
        return (self.flink_rest_url or f"http://127.0.0.1:{self.flink_rest_port}").rstrip("/")

    @property
    def savepoints(self) -> Path:
        """Savepoint folder (``savepoint_dir``, else ``<home>/savepoints``)."""
        return self.savepoint_dir or self.home / "savepoints"

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

    @property
    def redis_url(self) -> str:
        """``redis://host:port/db`` (``rediss://`` with TLS) of the online store; no credentials."""
        scheme = "rediss" if self.redis_tls else "redis"
        return f"{scheme}://{self.redis_host}:{self.redis_port}/{self.redis_db}"
