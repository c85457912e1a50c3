"""Lookups answered from the pre-merged "as of now" fields on a real Redis (sync and asyncio
clients) equal the full read and merge; past a window's ``valid_until`` the users take the full
path (a second round trip), and after a refresh as of a later time they are answered from the
pre-merged fields again."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.lookupkit import sample_events, start_redis, write_events
from userpulse.lookup import FeatureClient
from userpulse.lookup.aio import AsyncFeatureClient
from userpulse.lookup.premerged import FastPath
from userpulse.lookup.results import FeatureResult, Status
from userpulse.settings import Settings

pytestmark = pytest.mark.integration


Results = dict[str, dict[str, FeatureResult]]


def _async_get(settings: Settings, users: list[str], as_of: int) -> tuple[Results, dict[str, int]]:
    """The asyncio client's answer and its fast-path counts."""

    async def go() -> tuple[Results, dict[str, int]]:
        c = AsyncFeatureClient.from_settings(settings)
        try:
            return await c.get_many(users, as_of=as_of), c.fast_path.stats()
        finally:
            await c.aclose()

    return asyncio.run(go())


def test_premerged_lookups_equal_the_full_merge_then_fall_back_then_refresh() -> None:
    with start_redis() as s:
        now = int(time.time() * 1000)
        users = [f"pm-{i}" for i in range(40)]
        events = [e for u in users for e in sample_events(u, now - 20_000)]  # 20 s .. 11 s ago
        write_events(s, events, premerged_as_of_ms=now)
        fast = FeatureClient.from_settings(s)
        full = FeatureClient.from_settings(s)
        full.fast_path = FastPath(enabled=False)
        t = now + 500
        got = fast.get_many([*users, "nobody"], as_of=t)
        assert got == full.get_many([*users, "nobody"], as_of=t)
        assert fast.fast_path.stats() == {"hits": 40, "misses": 1}  # "nobody" has no fields
        assert all(got[u]["count_click_1m"].value == 3 for u in users)
        assert got[users[0]]["mean_dwell_hover_5m"].value == 175.0
        assert got[users[0]]["distinct_items_1h"].value == 4
        assert got["nobody"]["count_click_1m"].status is Status.NOT_FOUND
        a_got, a_stats = _async_get(s, users, t)
        assert a_got == {u: got[u] for u in users} and a_stats == {"hits": 40, "misses": 0}
        # the oldest 1 s tile (now - 20 s) leaves the 1 min window at now + 40 s: full path
        later = now + 40_000
        got_later = fast.get_many(users, as_of=later)
        assert got_later == full.get_many(users, as_of=later)
        assert got_later[users[0]]["count_click_1m"].value == 2  # the click at now - 20 s left
        assert fast.fast_path.stats() == {"hits": 40, "misses": 41}
        # refreshed as of ``later`` (what the writer's timer does): answered from them again
        write_events(s, events, premerged_as_of_ms=later)
        assert fast.get_many(users, as_of=later) == got_later
        assert fast.fast_path.stats() == {"hits": 80, "misses": 41}
        fast.close()
        full.close()


def test_without_premerged_fields_every_user_takes_the_full_path() -> None:
    """As the job writes by default (``premerge_refresh_ms`` 0): tiles only, no ``m`` field;
    the client with its fast path answers exactly what the full merge answers, every user a miss."""
    with start_redis() as s:
        now = int(time.time() * 1000)
        users = [f"np-{i}" for i in range(10)]
        events = [e for u in users for e in sample_events(u, now - 20_000)]
        write_events(s, events, premerged_as_of_ms=now, premerged=False)
        fast = FeatureClient.from_settings(s)
        full = FeatureClient.from_settings(s)
        full.fast_path = FastPath(enabled=False)
        t = now + 500
        got = fast.get_many(users, as_of=t)
        assert got == full.get_many(users, as_of=t)
        assert fast.fast_path.stats() == {"hits": 0, "misses": 10}
        assert all(got[u]["count_click_1m"].value == 3 for u in users)
        fast.close()
        full.close()
