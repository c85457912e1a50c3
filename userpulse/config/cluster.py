"""Settings of the Flink session cluster (``userpulse cluster``, ``userpulse job ...``)."""

from __future__ import annotations

from pydantic import Field

from userpulse.config.base import ComponentSettings


class ClusterSettings(ComponentSettings):
    """The Flink session cluster: REST, TaskManagers, memory, metrics ports."""

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

    @property
    def rest_url(self) -> str:
        """REST endpoint of the Flink cluster (``flink_rest_url``, else the local one)."""
        return (self.flink_rest_url or f"http://127.0.0.1:{self.flink_rest_port}").rstrip("/")
