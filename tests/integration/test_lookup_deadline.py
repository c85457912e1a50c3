"""The HTTP service while Redis hangs (issue 12): a Redis of its own, stopped with SIGSTOP.

``/readyz`` answers 503 within 1 s, and lookups answer 503 ``store_timeout`` after the
per-request deadline (``service_request_deadline_ms``, 250 ms by default) instead of the Redis
socket timeout, 40 at once as fast as one (no pile-up); after SIGCONT the same requests answer
200. The control: with the deadline switched off (longer than the socket timeout), ``/readyz``
takes the socket timeout, so the 1 s check fails.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.chaos_store_rows import stopped
from tests.integration.lookupkit import T0, password_env, sample_events, start_redis, write_events
from tests.integration.servicekit import Service
from userpulse.settings import Settings
from userpulse.stack.redis_server import RedisServer

pytestmark = pytest.mark.integration
LOOKUP = f"/v1/users/u1/features?features=count_click_1m&as_of_ms={T0 + 9_999}"


@pytest.fixture(scope="module")
def store() -> Iterator[Settings]:
    with start_redis() as s:
        write_events(s, sample_events("u1"))
        yield s


def hung(s: Settings) -> contextlib.AbstractContextManager[None]:
    """The test's Redis stopped (SIGSTOP) inside the block, continued (SIGCONT) after it."""
    return stopped(RedisServer(s).pid())


def timed(svc: Service, path: str) -> tuple[int, str, float]:
    """(status, error code or '', seconds) of one GET."""
    t0 = time.monotonic()
    status, body, _ = svc.get(path)
    code = body["error"]["code"] if status >= 400 else ""
    return status, code, time.monotonic() - t0


def test_hung_redis_answers_503_fast_without_pile_up(store: Settings, tmp_path: Path) -> None:
    svc = Service(store, tmp_path / "svc.log", env=password_env(store))
    try:
        assert timed(svc, LOOKUP)[0] == 200  # warm: a pooled connection exists
        with hung(store):
            status, code, took = timed(svc, "/readyz")
            assert (status, code) == (503, "store_timeout") and took < 1.0, took
            t0 = time.monotonic()
            with ThreadPoolExecutor(40) as pool:
                answers = list(pool.map(lambda _: timed(svc, LOOKUP), range(40)))
            wall = time.monotonic() - t0
            assert {(s, c) for s, c, _ in answers} == {(503, "store_timeout")}
            assert max(t for _, _, t in answers) < 1.5 and wall < 2.0, (answers, wall)
        status, _, took = timed(svc, LOOKUP)
        assert status == 200 and took < 1.0, took  # back at once, no queue to drain
        assert timed(svc, "/readyz")[0] == 200
    finally:
        svc.stop()


def test_control_without_deadline_readyz_waits_the_socket_timeout(
    store: Settings, tmp_path: Path
) -> None:
    svc = Service(
        store,
        tmp_path / "svc.log",
        env=password_env(store),
        USERPULSE_SERVICE_REQUEST_DEADLINE_MS="60000",  # off: longer than the 2 s socket timeout
    )
    try:
        assert timed(svc, "/readyz")[0] == 200
        with hung(store):
            status, code, took = timed(svc, "/readyz")
        assert (status, code) == (503, "store_unavailable")
        assert took >= 1.0, took  # the check of the test above would fail
    finally:
        svc.stop()
