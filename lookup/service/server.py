"""Serving the lookup app with uvicorn, and its OpenAPI document."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

from userpulse.settings import Settings


def openapi_document(settings: Settings | None = None) -> dict[str, Any]:
    """The OpenAPI description the service serves (``docs/openapi.json`` is this, checked in)."""
    from lookup.service.app import create_app

    return create_app(settings or Settings(_env_file=None)).openapi()  # type: ignore[call-arg]


def openapi_json(settings: Settings | None = None) -> str:
    """:func:`openapi_document` as the text of ``docs/openapi.json`` (sorted keys, indent 2)."""
    return json.dumps(openapi_document(settings), indent=2, sort_keys=True) + "\n"


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the service in this process until interrupted (uvicorn; uvloop/httptools if present).

    Args:
        host: bind address; default ``settings.service_host``.
        port: TCP port; default ``settings.service_port``.

    Raises:
        ValueError: an unusable Redis password file (at start-up).
    """
    import uvicorn

    from lookup.service.app import create_app
    from userpulse import redis_conn

    redis_conn.client_kwargs(settings, "lookup")  # a bad password file fails here, in one line

    def have(mod: str) -> bool:
        return importlib.util.find_spec(mod) is not None

    uvicorn.run(
        create_app(settings),
        host=host or settings.service_host,
        port=port or settings.service_port,
        loop="uvloop" if have("uvloop") else "asyncio",
        http="httptools" if have("httptools") else "h11",
        log_level="warning",
        access_log=False,
        server_header=False,
    )
