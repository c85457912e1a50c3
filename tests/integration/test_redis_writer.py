"""The Redis writer against a real Redis: absolute, versioned, TTL-refreshing writes.

Cases H14 (a retried write never applies twice), H15 (TTL refreshed on every write, never lost)
and H16 (an older write never overwrites a newer one).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from lookup import FeatureClient
from sinks import layout
from sinks.redis_writer import TileWriter
from userpulse import redis_conn
from userpulse.events import Event, EventType
from userpulse.settings import Settings
from userpulse.tiles import add_event, empty_tile

pytestmark = pytest.mark.integration
T0 = 1717243200000


@pytest.fixture
def r(stack: Settings) -> Iterator[redis.Redis]:
    client = redis_conn.connect(stack, "admin")  # FLUSHDB, CONFIG RESETSTAT, INFO
    client.flushdb()
    yield client
    client.flushdb()


def _tiles_after(n: int) -> dict[int, list]:
    """The 1 s tiles of uA after its first ``n`` clicks at T0+1 s, +2 s, +3 s."""
    tiles: dict[int, list] = {}
    for i in range(n):
        e = Event(str(i), EventType.CLICK, "uA", T0 + 1_000 * (i + 1), "s")
        add_event(tiles.setdefault(e.event_time_ms // 1000, empty_tile()), e)
    return tiles


def test_h16_older_write_never_overwrites_newer(r: redis.Redis) -> None:
    w = TileWriter(r)
    new, old = _tiles_after(3), _tiles_after(2)
    for k, v in new.items():
        w.stage_tile("uA", 1000, k, v)
    w.stage_last_seen("uA", T0 + 3_000)
    assert w.flush() == {"uA": T0 + 3_000}
    # a delayed write of the state after 2 events arrives, then the same value again
    for k, v in old.items():
        w.stage_tile("uA", 1000, k, v)
    w.stage_last_seen("uA", T0 + 2_000)
    w.flush()
    key = layout.user_key("uA")
    stored = r.hgetall(key)
    assert stored[b"ls"] == str(T0 + 3_000).encode()
    f = FeatureClient(r).get("uA", ["count_click_1m", "last_seen"], as_of=T0 + 59_999)
    assert f["count_click_1m"].value == 3 and f["last_seen"].value == T0 + 3_000
    # a tile with a larger version does replace the stored one
    bigger = empty_tile()
    for i in range(2):
        add_event(bigger, Event(f"b{i}", EventType.CLICK, "uA", T0 + 1_500, "s"))
    w.stage_tile("uA", 1000, (T0 + 1_000) // 1000, bigger)
    w.flush()
    assert (
        FeatureClient(r).get("uA", ["count_click_1m"], as_of=T0 + 59_999)["count_click_1m"].value
        == 4
    )


def test_h15_ttl_refreshed_on_every_write(r: redis.Redis) -> None:
    w = TileWriter(r, ttl_s=6)
    key = layout.user_key("uA")
    tile = empty_tile()
    add_event(tile, Event("e1", EventType.CLICK, "uA", T0, "s"))
    w.stage_tile("uA", 1000, T0 // 1000, tile)
    w.flush()
    assert 5 <= r.ttl(key) <= 6
    time.sleep(3)
    assert r.ttl(key) <= 3
    w.stage_tile("uA", 1000, T0 // 1000, tile)  # same version: value unchanged
    w.flush()
    assert 5 <= r.ttl(key) <= 6  # refreshed, never -1
    time.sleep(6.5)
    assert r.exists(key) == 0
    assert FeatureClient(r).get("uA")["count_click_1m"].status.value == "not_found"


class _CutAfterWrite:
    """A TCP proxy to Redis that forwards the first request, then drops the connection before
    the reply reaches the client (once); later connections pass through."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.addr = self.srv.getsockname()
        self.cut_once = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        up = socket.create_connection(("127.0.0.1", self.port))
        cut = not self.cut_once.is_set()
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                up.sendall(data)
                reply = up.recv(65536)
                if cut and b"EVALSHA" in data.upper():
                    self.cut_once.set()
                    time.sleep(0.05)  # let Redis apply it
                    return  # drop both sides: the client sees a connection error
                c.sendall(reply)
        finally:
            c.close()
            up.close()


def test_h14_retry_after_lost_reply_does_not_double_count(r: redis.Redis, stack: Settings) -> None:
    proxy = _CutAfterWrite(stack.redis_port)
    client = redis_conn.connect(stack.model_copy(update={"redis_port": proxy.addr[1]}), "job")
    retries: list[Exception] = []
    w = TileWriter(client, on_retry=retries.append, backoff_s=0.01)
    tile = empty_tile()
    add_event(tile, Event("1", EventType.CLICK, "uA", T0 + 1_000, "s"))
    w.stage_tile("uA", 1000, (T0 + 1_000) // 1000, tile)
    w.stage_last_seen("uA", T0 + 1_000)
    r.config_resetstat()
    w.flush()
    # the write reached Redis, its reply was lost, and it was sent again (by the writer's retry,
    # or by redis-py's own connection retry): applied twice, counted once
    assert proxy.cut_once.is_set()
    assert r.info("commandstats")["cmdstat_evalsha"]["calls"] == 2, retries
    f = FeatureClient(r).get("uA", ["count_click_1m"], as_of=T0 + 59_999)
    assert f["count_click_1m"].value == 1
    proxy.srv.close()
