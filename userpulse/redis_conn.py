"""The one place that opens Redis connections from settings, per role.

Roles: ``job`` (the feature job's writer), ``lookup`` (the client and the HTTP service: read-only
on the feature prefix), ``admin`` (project commands and tests: stack set-up, clean-up). Every
caller goes through :func:`connect`, so credentials and TLS are configured once.
"""

from __future__ import annotations

from typing import Literal

import redis

from userpulse.settings import Settings

Role = Literal["job", "lookup", "admin"]


def connect(settings: Settings, role: Role) -> redis.Redis:
    """A ``redis.Redis`` for ``role`` on ``settings.redis_host:redis_port`` / ``redis_db``.

    Raises:
        ValueError: an unknown role.
    """
    if role not in ("job", "lookup", "admin"):
        raise ValueError(f"unknown Redis role {role!r}; use job, lookup or admin")
    return redis.Redis(host=settings.redis_host, port=settings.redis_port, db=settings.redis_db)
