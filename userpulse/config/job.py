"""Settings of the feature job: event time, Redis writes, checkpoints, parallelism."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from userpulse.config.base import ComponentSettings


class JobSettings(ComponentSettings):
    """The feature job: event-time semantics, the writer, checkpoints and restarts."""

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
    premerge_refresh_ms: int = Field(
        default=0,
        ge=0,
        le=60_000,
        description='Keep each user\'s windows pre-merged "as of now" in Redis (fields m, w:*, '
        "docs/key-layout.md) and rewrite them when they stop holding, at a multiple of this "
        "many ms (the refresh timer's resolution; 1000 is a good value); 0 (the default): do not "
        "write them. Off by default: in make bench it cost the job half its throughput "
        "(docs/job.md).",
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
        default=1,
        ge=0,
        le=1000,
        description=(
            "Longest time (ms) a record waits in a network buffer between the job's operators "
            "(Flink execution.buffer-timeout.interval; 0 = send every record at once). 1 ms: "
            "freshness p50 4-5 ms instead of 7-9 ms at 5 ms, with no loss of throughput "
            "(docs/bench.md, 2026-12-01 freshness tail)."
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

    @field_validator("python_execution_mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("thread", "process"):
            raise ValueError("python_execution_mode must be 'thread' or 'process'")
        return v

    @property
    def savepoints(self) -> Path:
        """Savepoint folder (``savepoint_dir``, else ``<home>/savepoints``)."""
        return self.savepoint_dir or self.home / "savepoints"
