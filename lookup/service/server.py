"""Serving the lookup app with uvicorn, and its OpenAPI document."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

from userpulse.config import LookupSettings
from userpulse.settings import Settings


def openapi_document(settings: LookupSettings | None = None) -> dict[str, Any]:
    """The OpenAPI description the service serves (``docs/openapi.json`` is this, checked in)."""
    from userpulse.lookup.service.app import create_app

    return create_app(settings or Settings(_env_file=None)).openapi()  # type: ignore[call-arg]


def openapi_json(settings: LookupSettings | None = None) -> str:
    """:func:`openapi_document` as the text of ``docs/openapi.json`` (sorted keys, indent 2)."""
    return json.dumps(openapi_document(settings), indent=2, sort_keys=True) + "\n"


LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        },
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "uvicorn.error": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "userpulse": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
"""Logging in each worker: warnings of uvicorn, INFO of ``userpulse.*`` (the access log and
teams-file reloads) on stderr. uvicorn's own access log stays off: its lines carry the path, and
the path carries the user id."""


def app_from_env() -> Any:
    """The app with settings from the environment: the factory each uvicorn worker calls when
    ``service_workers`` > 1."""
    from userpulse.lookup.service.app import create_app

    return create_app(Settings())


def serve(settings: LookupSettings, host: str | None = None, port: int | None = None) -> None:
    """Run the service until interrupted (uvicorn; uvloop/httptools if present).

    With ``settings.service_workers`` > 1, uvicorn starts that many worker processes, each
    building its settings from the environment (:func:`app_from_env`), on one shared socket.
    With ``service_tls_cert_file`` the listener is HTTPS only; with
    ``service_tls_client_ca_file`` a client must present a certificate that CA signed.

    Args:
        host: bind address; default ``settings.service_host``.
        port: TCP port; default ``settings.service_port``.

    Raises:
        ValueError: an unusable Redis password file or teams file (at start-up).
    """
    import ssl

    import uvicorn

    from userpulse import redis_conn
    from userpulse.lookup.service.app import create_app

    redis_conn.client_kwargs(settings, "lookup")  # a bad password file fails here, in one line
    app = create_app(settings)  # a bad teams file too

    def have(mod: str) -> bool:
        return importlib.util.find_spec(mod) is not None

    tls: dict[str, Any] = {}
    if settings.service_tls_cert_file is not None:
        tls = {
            "ssl_certfile": str(settings.service_tls_cert_file),
            "ssl_keyfile": str(settings.service_tls_key_file),
        }
        if settings.service_tls_client_ca_file is not None:
            tls["ssl_ca_certs"] = str(settings.service_tls_client_ca_file)
            tls["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    workers = settings.service_workers
    uvicorn.run(
        "userpulse.lookup.service.server:app_from_env" if workers > 1 else app,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=host or settings.service_host,
        port=port or settings.service_port,
        loop="uvloop" if have("uvloop") else "asyncio",
        http="httptools" if have("httptools") else "h11",
        log_config=LOG_CONFIG,
        access_log=False,
        server_header=False,
        **tls,
    )
