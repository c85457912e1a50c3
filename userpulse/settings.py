"""Settings, built once at the entry point and passed down.

Precedence: command-line flags > environment variables (``USERPULSE_<NAME>``) > a settings file
(``userpulse.env`` in the working directory, or the file named by ``USERPULSE_SETTINGS_FILE``).
Library code never reads ``os.environ``; it receives a :class:`Settings`.

Unknown ``USERPULSE_`` keys in the settings file are rejected (``extra="forbid"``) so that a typo
fails at start with the name of the setting to fix.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All runtime settings of userpulse.

    Every field can be set by the environment variable ``USERPULSE_<FIELD_NAME_UPPER>``.
    Units are in the names (``_ms``, ``_s``). Times are UTC epoch milliseconds.
    """

    model_config = SettingsConfigDict(
        env_prefix="USERPULSE_",
        env_file=os.environ.get("USERPULSE_SETTINGS_FILE", "userpulse.env"),
        extra="forbid",
    )

    # --- local stack -------------------------------------------------------------------------
    home: Path = Field(
        default=REPO_ROOT / ".userpulse",
        description="Project-owned folder for broker/redis data, logs and pid files.",
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
    infra_lib: Path = Field(
        default=REPO_ROOT / "infra" / "lib",
        description="Where `make deps` (mvn -f infra/pom.xml package) puts the jars.",
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

    # --- event-time semantics (design section 4) --------------------------------------------
    out_of_orderness_ms: int = Field(default=5_000, ge=0, description="Bounded out-of-orderness.")
    allowed_lateness_ms: int = Field(default=600_000, ge=0, description="Allowed lateness.")
    idle_timeout_ms: int = Field(default=5_000, ge=1, description="Partition idleness timeout.")
    max_future_ms: int = Field(
        default=86_400_000, ge=0, description="Sane range: how far ahead of the clock."
    )

    # --- Redis writes --------------------------------------------------------------------------
    flush_interval_ms: int = Field(default=5, ge=1, le=1000, description="Max time a write waits.")
    flush_max_pending: int = Field(
        default=500, ge=1, description="Flush when this many users are pending."
    )
    redis_ttl_s: int | None = Field(
        default=None, ge=1, description="Key TTL; default: longest window + allowed lateness + 1 h."
    )

    # --- job -----------------------------------------------------------------------------------
    parallelism: int = Field(default=1, ge=1, description="Flink parallelism of the feature job.")
    checkpoint_interval_ms: int = Field(default=10_000, ge=100, description="Checkpoint interval.")
    job_metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Prometheus port of job workers; 0 = off."
    )
    checkpoint_dir: Path | None = Field(
        default=None, description="Checkpoint storage; default: <home>/checkpoints."
    )
    python_execution_mode: str = Field(
        default="thread", description="PyFlink python.execution-mode."
    )

    @field_validator("python_execution_mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("thread", "process"):
            raise ValueError("python_execution_mode must be 'thread' or 'process'")
        return v

    @property
    def kafka_bootstrap(self) -> str:
        """Bootstrap servers to use: the configured ones, else the local broker's listener."""
        return self.bootstrap_servers or f"{self.kafka_host}:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        """``redis://host:port/db`` of the online store."""
        return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"
