"""The HTTP lookup service (FastAPI on uvicorn): single and batch lookups, health, metrics.

Endpoints (OpenAPI description checked in at ``docs/openapi.json``; docs in ``docs/lookup.md``):

- ``GET  /v1/users/{user_id}/features?features=a,b&as_of_ms=T``  one user
- ``POST /v1/features/batch``  ``{"user_ids": [...], "features": [...], "as_of_ms": T}``
- ``GET  /v1/features``  the feature catalogue
- ``GET  /healthz`` (process alive), ``GET /readyz`` (Redis answers), ``GET /metrics``

Errors are ``{"error": {"code", "message", "details"}}`` with 400 (unknown feature), 401 (no or
unknown API key), 403 (a feature or batch the team may not read), 422 (bad user id, too many
users, malformed request), 429 (team over its quota, with ``Retry-After``), 404/405, 503 (Redis
unavailable, or no answer within ``service_request_deadline_ms``: ``store_timeout``) or
500. Who may read what: :mod:`userpulse.lookup.service.guard`. Lookups go through
:class:`userpulse.lookup.aio.AsyncFeatureClient` as the read-only lookup ACL user; a user id is only
ever
turned into its key by :func:`userpulse.layout.user_key`, never into a pattern.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from operator import itemgetter
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException

from userpulse import __version__
from userpulse.config import LookupSettings
from userpulse.features import FEATURE_NAMES
from userpulse.lookup.aio import AsyncFeatureClient
from userpulse.lookup.errors import (
    FeatureLookupError,
    InvalidUserId,
    StoreUnavailable,
    TooManyUsers,
    UnknownFeature,
)
from userpulse.lookup.merge import FeatureResult
from userpulse.lookup.service.fastroute import SingleUserRoute
from userpulse.lookup.service.guard import ANONYMOUS, Denied, Guard, GuardMiddleware, denied_body
from userpulse.lookup.service.metrics import ServiceMetrics
from userpulse.lookup.service.models import (
    MAX_AS_OF_MS,
    BatchFeatures,
    BatchRequest,
    ErrorBody,
    FeatureNames,
    Health,
    UserFeatures,
)

_RAW_USER_PATH = re.compile(rb"^/v1/users/(.+)/features$", re.DOTALL)


class _UserIdConvertor(Convertor[str]):
    """Path segment(s) of a user id: anything, slashes and newlines included (``%2F``, ``%0A``)."""

    regex = "(?s:.+)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("userid", _UserIdConvertor())
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Unknown feature"},
    401: {"model": ErrorBody, "description": "No or unknown API key (with a teams file)"},
    403: {"model": ErrorBody, "description": "A feature or batch the team may not read"},
    422: {"model": ErrorBody, "description": "Invalid user id, too many users or bad request"},
    429: {"model": ErrorBody, "description": "The team is over its quota; see Retry-After"},
    503: {"model": ErrorBody, "description": "Redis unavailable"},
}
_dumps: Callable[[Any], bytes | str] = lambda body: json.dumps(body, separators=(",", ":"))  # noqa: E731
with contextlib.suppress(ImportError):  # the service extra's orjson (C): same JSON text, faster
    from orjson import dumps as _dumps


def _json(body: Any, status: int = 200) -> Response:
    return Response(_dumps(body), status, media_type="application/json")


def _error(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    resp = _json({"error": err}, status)
    resp.headers.update(headers or {})
    return resp


def _lookup_error(e: FeatureLookupError) -> Response:
    if isinstance(e, UnknownFeature):
        return _error(400, "unknown_feature", str(e))
    if isinstance(e, InvalidUserId):
        return _error(422, "invalid_user_id", str(e))
    if isinstance(e, TooManyUsers):
        return _error(422, "too_many_users", str(e))
    if isinstance(e, StoreTimeout):
        return _error(503, "store_timeout", str(e), headers={"Retry-After": "1"})
    if isinstance(e, StoreUnavailable):
        return _error(503, "store_unavailable", str(e))
    return _error(422, "invalid_request", str(e))


class StoreTimeout(StoreUnavailable):
    """Redis did not answer within the service's per-request deadline (a hung or overloaded
    server): the request ends with 503 ``store_timeout`` instead of waiting for the socket
    timeout, so requests do not pile up."""


async def _within(op: Coroutine[Any, Any, Any], deadline_ms: int) -> Any:
    """Await the Redis operation ``op`` for at most ``deadline_ms`` ms.

    On the deadline the operation is cancelled but not waited for: redis-py's clean-up of a
    connection to a hung server (closing it, its own timeouts) finishes in the background while
    the request already has its answer. A cancelled command's connection is dropped, never
    reused, so no late reply is read by another request.

    Raises:
        StoreTimeout: no answer in time.
    """
    task = asyncio.ensure_future(op)
    done, _ = await asyncio.wait({task}, timeout=deadline_ms / 1000)
    if task in done:
        return task.result()
    task.cancel()
    task.add_done_callback(_swallow)
    raise StoreTimeout(
        f"Redis did not answer within {deadline_ms} ms (USERPULSE_SERVICE_REQUEST_DEADLINE_MS)"
    )


def _swallow(task: asyncio.Future[Any]) -> None:
    """Retrieve a cancelled operation's outcome so asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()


def _raw_user_id(scope: Mapping[str, Any], decoded: str) -> str:
    """The user id from the raw (still percent-encoded) path, decoded as strict UTF-8
    (``decoded``, the server's decoding, when the scope has no raw path).

    Servers decode the path with replacement characters; the raw path keeps invalid UTF-8
    detectable, so such an id is rejected instead of looked up as a different id.
    """
    raw = scope.get("raw_path")
    m = _RAW_USER_PATH.match(raw) if isinstance(raw, bytes) else None
    if m is None:
        return decoded
    try:
        return unquote_to_bytes(m.group(1)).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidUserId("user id is not valid UTF-8") from None


_STATUS_OF = itemgetter(1)


def _features_json(res: dict[str, FeatureResult], statuses: Counter[Any]) -> dict[str, Any]:
    """Feature name -> ``{"value", "status", "newest_event_time_ms"[, "error"]}``; counts the
    statuses into ``statuses``. The status stays the ``Status`` member (a ``str``): orjson and
    json write its value."""
    statuses.update(map(_STATUS_OF, res.values()))
    return {
        name: {"value": r[0], "status": r[1], "newest_event_time_ms": r[2]}
        if r[3] is None
        else {"value": r[0], "status": r[1], "newest_event_time_ms": r[2], "error": r[3]}
        for name, r in res.items()
    }


def freeze_startup_heap() -> int:
    """Move every object alive now (the imported modules, the app, the client) into the
    collector's permanent generation, once each worker has started; returns how many objects
    are frozen.

    A 100-user batch builds ~10,000 containers; the few that outlive a young collection pile
    up until the collector runs a full (oldest generation) collection (CPython: once those
    exceed a quarter of the old objects), every few requests, and each one walked the whole
    start-up heap (FastAPI, pydantic, redis-py: ~73,000 objects, ~40 ms here): closed-loop
    100-user p99 55-68 ms at a p50 of 11-13 ms. Frozen, those objects are never walked again:
    p99 14-17 ms at a p50 of 10 ms (``docs/lookup.md``, "The service's tail"). Python docs,
    ``gc.freeze``: "move them to a permanent generation and ignore them in all the future
    collections". The start-up objects live as long as the worker anyway; objects made later
    are collected as before.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def create_app(settings: LookupSettings, client: AsyncFeatureClient | None = None) -> FastAPI:
    """The ASGI app (wrapped in :class:`userpulse.lookup.service.guard.GuardMiddleware`).

    Args:
        settings: Redis connection (lookup ACL user, TLS, cluster), ``lookup_max_batch_users``,
            the teams file and ``service_workers`` (quota shares), ``service_access_log``,
            ``service_fast_single`` (plain single-user lookups without FastAPI's routing,
            :mod:`userpulse.lookup.service.fastroute`),
            ``service_request_deadline_ms`` (longest wait for Redis per request).
        client: an already built client (tests); default one from ``settings`` at start-up.

    Raises:
        ValueError: at start-up, an unusable Redis password file; here, a teams file that
            cannot be read or parsed.
    """
    metrics = ServiceMetrics()
    guard = Guard(settings, metrics)
    deadline_ms = settings.service_request_deadline_ms
    state: dict[str, AsyncFeatureClient] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["client"] = client or AsyncFeatureClient.from_settings(settings)
        freeze_startup_heap()
        try:
            yield
        finally:
            if client is None:
                await state["client"].aclose()

    app = FastAPI(
        title="userpulse feature lookups",
        version=__version__,
        description="Per-user engagement features as of a time, each with a status and the "
        "time of the newest event behind it. With a teams file, every /v1 request needs a "
        "team's API key (Authorization: Bearer <key>). See docs/lookup.md.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )

    def team_of(request: Request) -> Any:
        return request.scope.get("state", {}).get("team", ANONYMOUS)

    def count(scope: Mapping[str, Any], statuses: Counter[Any]) -> None:
        team = scope.get("state", {}).get("team", ANONYMOUS).name
        for st, n in statuses.items():
            metrics.feature_statuses.labels(st.value, team).inc(n)

    async def lookup_single(
        scope: Any, features: str | None, as_of_ms: int | None, decoded_user_id: str = ""
    ) -> Response:
        """One user's features (the route below and :class:`SingleUserRoute`): ``features``
        comma-separated or None = all, ``as_of_ms`` UTC epoch ms or None = now.

        Raises:
            Denied: 403, a feature the team may not read.
        """
        names = None if features is None else features.split(",")
        scope["state"]["users"] = 1
        scope["state"]["features"] = len(FEATURE_NAMES) if names is None else len(names)
        Guard.authorize(scope["state"].get("team", ANONYMOUS), names, None)
        try:
            uid = _raw_user_id(scope, decoded_user_id)
            c = state["client"]
            t = c.now_ms() if as_of_ms is None else as_of_ms
            res = await _within(c.get(uid, names, t), deadline_ms)
        except FeatureLookupError as e:
            return _lookup_error(e)
        statuses: Counter[Any] = Counter()
        body = {"user_id": uid, "as_of_ms": t, "features": _features_json(res, statuses)}
        count(scope, statuses)
        return _json(body)

    if settings.service_fast_single:
        app.add_middleware(SingleUserRoute, handler=lookup_single)  # type: ignore[arg-type]
    app.add_middleware(
        GuardMiddleware,  # type: ignore[arg-type]  # a plain ASGI middleware
        guard=guard,
        metrics=metrics,
        log_access=settings.service_access_log,
    )

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied) -> Response:
        metrics.rejected.labels(team_of(request).name, exc.code).inc()
        resp = Response(denied_body(exc), exc.status, media_type="application/json")
        resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        message = f"{'.'.join(first['loc'])}: {first['msg']}"
        return _error(422, "invalid_request", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        return _error(500, "internal", f"internal error: {type(exc).__name__}")

    @app.get(
        "/v1/users/{user_id:userid}/features",
        response_model=UserFeatures,
        responses=_ERRORS,
        summary="Features of one user",
        operation_id="get_user_features",
    )
    async def get_user_features(
        request: Request,
        user_id: str,
        features: str | None = Query(
            default=None, description="Comma-separated feature names; absent = every feature."
        ),
        as_of_ms: int | None = Query(
            default=None, ge=0, le=MAX_AS_OF_MS, description="Lookup time, UTC epoch ms."
        ),
    ) -> Response:
        return await lookup_single(request.scope, features, as_of_ms, user_id)

    @app.post(
        "/v1/features/batch",
        response_model=BatchFeatures,
        responses=_ERRORS,
        summary=f"Features of up to {settings.lookup_max_batch_users} users in one request",
        operation_id="batch_features",
    )
    async def batch_features(request: Request, req: BatchRequest) -> Response:
        n_users = len(set(req.user_ids))
        request.scope["state"]["users"] = n_users
        request.scope["state"]["features"] = (
            len(FEATURE_NAMES) if req.features is None else len(req.features)
        )
        Guard.authorize(team_of(request), req.features, n_users)
        c = state["client"]
        t = c.now_ms() if req.as_of_ms is None else req.as_of_ms
        try:
            res = await _within(c.get_many(req.user_ids, req.features, t), deadline_ms)
        except FeatureLookupError as e:
            return _lookup_error(e)
        metrics.batch_users.observe(len(res))
        statuses: Counter[Any] = Counter()
        users = {u: _features_json(f, statuses) for u, f in res.items()}
        count(request.scope, statuses)
        return _json({"as_of_ms": t, "users": users})

    @app.get("/v1/features", response_model=FeatureNames, summary="The feature catalogue")
    async def feature_names() -> Response:
        return _json({"features": list(FEATURE_NAMES)})

    @app.get("/healthz", response_model=Health, summary="The process is alive")
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get(
        "/readyz",
        response_model=Health,
        responses={503: {"model": ErrorBody, "description": "Redis unavailable"}},
        summary="Redis answers the lookup user",
    )
    async def readyz() -> Response:
        try:
            await _within(state["client"].ping(), deadline_ms)
        except StoreUnavailable as e:
            return _lookup_error(e)
        return _json({"status": "ok"})

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
