"""Settings of the Redis online store: address, ACL users and passwords, TLS, timeouts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from userpulse.config.base import ComponentSettings


class RedisSettings(ComponentSettings):
    """Where the online store is and how to reach it (every role: job, lookup, admin)."""

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

    @property
    def credentials_dir(self) -> Path:
        """Folder of the Redis password files (``redis_credentials_dir``, else under home)."""
        return self.redis_credentials_dir or self.home / "redis" / "credentials"

    @property
    def redis_url(self) -> str:
        """``redis://host:port/db`` (``rediss://`` with TLS) of the online store; no credentials."""
        scheme = "rediss" if self.redis_tls else "redis"
        return f"{scheme}://{self.redis_host}:{self.redis_port}/{self.redis_db}"
