"""Authentication, quotas, authorisation and access logs of the HTTP service (issue 16).

- Authentication: with a teams file (:mod:`userpulse.lookup.service.teams`), every ``/v1`` request
  carries a
  team's API key as ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``); none or an unknown
  one is 401 ``unauthenticated``. Without a teams file every caller is the team ``anonymous`` with
  every right (a local stack). Transport: HTTPS and, optionally, client certificates signed by the
  configured CA (mutual TLS), both enforced by the TLS layer before any request is read.
- Quotas: a team's ``requests_per_s`` is counted in windows of 1 s (each starting with the
  team's first request after the previous one ended) by the ``limits`` library (fixed window, in
  memory); each of the ``service_workers`` processes admits its share (``ceil(quota /
  workers)``). Over it: 429 ``quota_exceeded`` with ``Retry-After`` (whole seconds, >= 1).
- Authorisation: a feature the team may not read is 403 ``forbidden_feature`` naming it (the
  whole request is refused: never partial data); a batch lookup by a team without ``batch``, or
  larger than its ``max_batch_users``, is 403 ``forbidden``.
- One access-log line per request (logger ``userpulse.lookup.access``, INFO): team, endpoint,
  method, status, duration, users and features asked; never a user id, a path or a key.

:class:`GuardMiddleware` is a plain ASGI middleware (no per-request task or body copy): it
authenticates and admits before routing, so an unauthenticated request learns nothing else.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from userpulse.config import LookupSettings
from userpulse.lookup.service.metrics import ServiceMetrics
from userpulse.lookup.service.teams import Team, TeamRegistry

access_log = logging.getLogger("userpulse.lookup.access")
ANONYMOUS = Team("anonymous", None, True, None, None)
UNKNOWN_TEAM = "unknown"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Denied(Exception):
    """A request refused before or instead of a lookup.

    Attributes:
        status: HTTP status (401, 403, 429).
        code: the error code of the JSON body.
        headers: extra response headers (``WWW-Authenticate``, ``Retry-After``).
        details: optional list of what was refused (e.g. ``[{"feature": ...}]``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict[str, object]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.headers, self.details = status, code, headers or {}, details


def endpoint_of(path: str) -> str:
    """The endpoint label of a path (no user id ever): single, batch, catalogue, healthz, ..."""
    if path.startswith("/v1/users/") and path.endswith("/features"):
        return "single"
    return {
        "/v1/features/batch": "batch",
        "/v1/features": "catalogue",
        "/healthz": "healthz",
        "/readyz": "readyz",
        "/metrics": "metrics",
        "/openapi.json": "openapi",
    }.get(path, "other")


def _api_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return token.strip() or None
        elif name == b"x-api-key":
            return value.decode("latin-1").strip() or None
    return None


class Guard:
    """Who is asking, and may they (see the module doc).

    Args:
        settings: ``service_teams_file``, ``service_workers``.
        metrics: where reload errors are counted.

    Raises:
        ValueError: the teams file cannot be read or parsed at start.
    """

    def __init__(self, settings: LookupSettings, metrics: ServiceMetrics) -> None:
        path = settings.service_teams_file
        self.registry = (
            None
            if path is None
            else TeamRegistry(path, on_reload_error=lambda _: metrics.teams_reload_errors.inc())
        )
        self._workers = settings.service_workers
        self._limiter = FixedWindowRateLimiter(MemoryStorage())
        self._items: dict[int, RateLimitItem] = {}

    def authenticate(self, scope: Scope) -> Team:
        """The caller's team.

        Raises:
            Denied: 401, no key or an unknown one (with a teams file).
        """
        if self.registry is None:
            return ANONYMOUS
        team = self.registry.team_of(_api_key(scope))
        if team is None:
            raise Denied(
                401,
                "unauthenticated",
                "missing or unknown API key; send 'Authorization: Bearer <key>'",
                {"WWW-Authenticate": 'Bearer realm="userpulse"'},
            )
        return team

    def admit(self, team: Team) -> None:
        """Count one request against the team's quota.

        Raises:
            Denied: 429 with ``Retry-After`` when the team is over its quota this second.
        """
        quota = team.requests_per_s
        if quota is None:
            return
        share = math.ceil(quota / self._workers)
        item = self._items.get(share)
        if item is None:
            item = self._items[share] = RateLimitItemPerSecond(share)
        if not self._limiter.hit(item, team.name):
            reset_s = self._limiter.get_window_stats(item, team.name).reset_time
            retry = max(1, math.ceil(reset_s - time.time()))
            raise Denied(
                429,
                "quota_exceeded",
                f"team {team.name} is over its quota of {quota} requests/s",
                {"Retry-After": str(retry)},
            )

    @staticmethod
    def authorize(team: Team, features: Sequence[str] | None, batch_users: int | None) -> None:
        """Check the team's rights for a lookup of ``features`` (None = all) of one user
        (``batch_users`` None) or of a batch of ``batch_users`` users.

        Raises:
            Denied: 403, naming the features or the batch limit.
        """
        if batch_users is not None:
            if not team.batch:
                raise Denied(403, "forbidden", f"team {team.name} may not send batch lookups")
            if team.max_batch_users is not None and batch_users > team.max_batch_users:
                raise Denied(
                    403,
                    "forbidden",
                    f"team {team.name} may look up at most {team.max_batch_users} users per "
                    f"batch, got {batch_users}",
                )
        bad = team.forbidden(features)
        if bad:
            raise Denied(
                403,
                "forbidden_feature",
                f"team {team.name} may not read {', '.join(bad)}",
                details=[{"feature": f} for f in bad],
            )


def denied_body(d: Denied) -> bytes:
    """The JSON error body of a :class:`Denied`."""
    err: dict[str, object] = {"code": d.code, "message": str(d)}
    if d.details is not None:
        err["details"] = d.details
    return json.dumps({"error": err}, separators=(",", ":")).encode()


class GuardMiddleware:
    """ASGI middleware: authenticate and admit ``/v1`` requests, then time, count and log every
    request with its team (``scope["state"]["team"]`` for the handlers).

    Args:
        app: the wrapped ASGI app.
        guard: the :class:`Guard`.
        metrics: request counters and latency histograms (labelled with the team).
        log_access: write one access-log line per request (INFO).
    """

    def __init__(self, app: ASGIApp, guard: Guard, metrics: ServiceMetrics, log_access: bool):
        self.app, self.guard, self.metrics, self.log_access = app, guard, metrics, log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        path: str = scope["path"]
        endpoint = endpoint_of(path)
        state = scope.setdefault("state", {})
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        team_name = UNKNOWN_TEAM
        try:
            if path.startswith("/v1/"):
                team = self.guard.authenticate(scope)
                team_name = team.name
                self.guard.admit(team)
                state["team"] = team
            await self.app(scope, receive, send_status)
        except Denied as d:
            self.metrics.rejected.labels(team_name, d.code).inc()
            headers = [(b"content-type", b"application/json")]
            headers += [(k.lower().encode(), v.encode()) for k, v in d.headers.items()]
            body = denied_body(d)
            headers.append((b"content-length", str(len(body)).encode()))
            await send_status(
                {"type": "http.response.start", "status": d.status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - t0
            code = status[0]
            if endpoint in ("single", "batch", "catalogue"):
                self.metrics.request_seconds.labels(endpoint, team_name).observe(elapsed)
            self.metrics.requests.labels(endpoint, str(code), team_name).inc()
            if self.log_access and access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "team=%s endpoint=%s method=%s status=%d duration_ms=%.2f users=%s features=%s",
                    team_name,
                    endpoint,
                    scope.get("method", "?"),
                    code,
                    elapsed * 1000,
                    state.get("users", "-"),
                    state.get("features", "-"),
                )
