"""Settings of the lookup client and the HTTP lookup service (what a lookup-only user meets)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator

from userpulse.config.redis import RedisSettings


class LookupSettings(RedisSettings):
    """The store (:class:`RedisSettings`) plus the HTTP lookup service and batch limits."""

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
    service_fast_single: bool = Field(
        default=True,
        description="Answer plain single-user lookups without FastAPI's routing (the same "
        "answers, less CPU per request); false: every request through FastAPI. docs/lookup.md",
    )

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
