"""The single-user lookup without FastAPI's routing and parameter validation (issue 16).

``GET /v1/users/{user_id}/features`` is the request a ranker sends thousands of times a second.
:class:`SingleUserRoute` answers it directly when its query is one FastAPI would read the same
way (:func:`simple_query`): no query, or ``features`` and / or ``as_of_ms`` once each with
``as_of_ms`` a plain decimal in range. It calls the same handler the FastAPI route calls
(``lookup_single`` in :func:`userpulse.lookup.service.app.create_app`), so the answer is the
same; every other request, and every query it does not read (a repeated or unknown parameter,
``as_of_ms=+5``, ...), goes to FastAPI, which answers or refuses it as before. It sits inside
:class:`userpulse.lookup.service.guard.GuardMiddleware` (authentication, quotas, metrics and
the access log stay there) and raises what the route would (``Denied`` and unexpected errors
go to the same outer handlers).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response

from userpulse.lookup.service.guard import ASGIApp, Receive, Scope, Send
from userpulse.lookup.service.models import MAX_AS_OF_MS

SingleHandler = Callable[[Scope, str | None, int | None], Awaitable[Response]]
"""``(scope, features, as_of_ms) -> response``: the single-user lookup of the request whose
scope it is (``features``: the comma-separated names or None = every feature; ``as_of_ms``:
UTC epoch ms or None = now)."""

_PREFIX, _SUFFIX = b"/v1/users/", b"/features"
_PLAIN_INT = re.compile(r"(?:0|[1-9][0-9]{0,15})")


def simple_query(query_string: bytes) -> tuple[str | None, int | None] | None:
    """``(features, as_of_ms)`` of a query FastAPI would read the same way, else None.

    Decoded as Starlette decodes it (``parse_qsl`` of the latin-1 text, blank values kept), so
    ``features`` is the same string; ``as_of_ms`` only when it is a plain decimal (no sign,
    space or leading zero) within ``0..MAX_AS_OF_MS``, which pydantic reads as the same int.

    Args:
        query_string: the raw query (ASGI ``scope["query_string"]``), without ``?``.
    """
    if not query_string:
        return None, None
    features: str | None = None
    as_of: int | None = None
    seen: set[str] = set()
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key in seen:
            return None  # FastAPI takes the last one: leave it to FastAPI
        seen.add(key)
        if key == "features":
            features = value
        elif key == "as_of_ms" and _PLAIN_INT.fullmatch(value) and int(value) <= MAX_AS_OF_MS:
            as_of = int(value)
        else:
            return None
    return features, as_of


def is_single_user_path(raw_path: Any) -> bool:
    """True for a raw (percent-encoded) path ``/v1/users/<one or more bytes>/features``: the
    FastAPI route's pattern matches its decoded form too (``user_id`` greedy, ``(?s:.+)``)."""
    return (
        isinstance(raw_path, bytes)
        and len(raw_path) > len(_PREFIX) + len(_SUFFIX)
        and raw_path.startswith(_PREFIX)
        and raw_path.endswith(_SUFFIX)
    )


class SingleUserRoute:
    """ASGI middleware: single-user lookups with a :func:`simple_query` go to ``handler``
    directly (see the module doc), everything else to ``app``.

    Args:
        app: the FastAPI app (below the guard).
        handler: the single-user lookup, the same the FastAPI route calls.
    """

    def __init__(self, app: ASGIApp, handler: SingleHandler) -> None:
        self.app, self.handler = app, handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and is_single_user_path(scope.get("raw_path"))
            and (query := simple_query(scope.get("query_string", b""))) is not None
        ):
            response = await self.handler(scope, *query)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
