"""Pipelined, coalesced, absolute (replay-safe) writes of tiles to Redis.

The job stages the current value of every tile an event touched; :meth:`TileWriter.flush` sends
one ``EVALSHA`` per user (all of that user's staged tiles, pruned tiles and last-seen time) in a
single pipeline. The script keeps a stored tile unless the staged one has a larger version ``n``
(an older write never overwrites a newer one, case H16), keeps ``last_seen`` as a maximum, and
refreshes the TTL of every key it touches (case H15). Values are absolute, never increments, so a
replay after a restore cannot double count (case H14).

Redis down or slow: :meth:`flush` retries with capped exponential backoff until it succeeds;
the caller blocks (Flink back-pressures and events wait in Kafka). Validation errors are not
retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import redis

from sinks import layout
from userpulse.tiles import TileValue

log = logging.getLogger(__name__)

# KEYS: meta, then one tiles hash per tile size in ARGV order.
# ARGV: ttl_s, last_seen_ms (or ""), then per tiles key: tile_ms, pruned_upto (or ""),
#       n_set, (field, value) * n_set, n_del, field * n_del
WRITE_LUA = """
local ttl = tonumber(ARGV[1])
local meta = KEYS[1]
if ARGV[2] ~= '' then
  local cur = redis.call('HGET', meta, 'ls')
  if (not cur) or tonumber(ARGV[2]) > tonumber(cur) then
    redis.call('HSET', meta, 'ls', ARGV[2])
  end
end
local a = 3
for k = 2, #KEYS do
  local key = KEYS[k]
  local g = ARGV[a]
  local pruned = ARGV[a + 1]
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  for i = 1, n do
    local f, v = ARGV[a], ARGV[a + 1]
    a = a + 2
    local old = redis.call('HGET', key, f)
    if (not old) or tonumber(string.match(v, '^[^;]*')) > tonumber(string.match(old, '^[^;]*')) then
      redis.call('HSET', key, f, v)
    end
  end
  local d = tonumber(ARGV[a])
  a = a + 1
  for i = 1, d do
    redis.call('HDEL', key, ARGV[a])
    a = a + 1
  end
  if pruned ~= '' then
    local pf = 'p:' .. g
    local cur = redis.call('HGET', meta, pf)
    if (not cur) or tonumber(pruned) > tonumber(cur) then
      redis.call('HSET', meta, pf, pruned)
    end
  end
  redis.call('EXPIRE', key, ttl)
end
redis.call('EXPIRE', meta, ttl)
return 1
"""

RETRYABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


@dataclass
class _UserWrite:
    tiles: dict[tuple[int, int], TileValue] = field(default_factory=dict)
    deletes: dict[int, set[int]] = field(default_factory=dict)
    pruned_upto: dict[int, int] = field(default_factory=dict)
    last_seen_ms: int | None = None


@dataclass
class WriterStats:
    """Counters of a :class:`TileWriter` (since creation)."""

    flushes: int = 0
    users_written: int = 0
    retries: int = 0
    errors: int = 0


class TileWriter:
    """Coalescing Redis writer for one job worker.

    Args:
        client: a ``redis.Redis`` (decode_responses=False is fine).
        ttl_s: TTL in seconds set on every key written (``layout.ttl_s()`` by default).
        backoff_s: first retry delay in seconds; doubles up to ``max_backoff_s``.
        on_retry: called with the exception before each retry sleep (metrics hook).
        sleep: injectable sleep (seconds), for tests.
    """

    def __init__(
        self,
        client: redis.Redis,
        ttl_s: int | None = None,
        backoff_s: float = 0.05,
        max_backoff_s: float = 5.0,
        on_retry: Callable[[Exception], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if ttl_s is not None and ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
        self._client = client
        self._ttl_s = ttl_s or layout.ttl_s()
        self._script = client.register_script(WRITE_LUA)
        self._pending: dict[str, _UserWrite] = {}
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._on_retry = on_retry
        self._sleep = sleep
        self.stats = WriterStats()

    @property
    def pending_users(self) -> int:
        """Users with staged, unflushed writes."""
        return len(self._pending)

    def is_pending(self, user_id: str) -> bool:
        """Whether ``user_id`` has staged, unflushed writes."""
        return user_id in self._pending

    def stage_tile(self, user_id: str, tile_ms: int, index: int, value: TileValue) -> None:
        """Stage the absolute value of tile ``index`` of size ``tile_ms`` (newest staged wins)."""
        w = self._pending.get(user_id)
        if w is None:
            w = self._pending[user_id] = _UserWrite()
        w.tiles[(tile_ms, index)] = value

    def stage_last_seen(self, user_id: str, event_time_ms: int) -> None:
        """Stage a last-seen candidate (the script keeps the maximum)."""
        w = self._pending.get(user_id)
        if w is None:
            w = self._pending[user_id] = _UserWrite()
        if w.last_seen_ms is None or event_time_ms > w.last_seen_ms:
            w.last_seen_ms = event_time_ms

    def stage_prune(self, user_id: str, tile_ms: int, indices: Iterable[int]) -> None:
        """Stage deletion of tiles that left retention, and raise the pruned-up-to marker."""
        idx = list(indices)
        if not idx:
            return
        w = self._pending.get(user_id)
        if w is None:
            w = self._pending[user_id] = _UserWrite()
        w.deletes.setdefault(tile_ms, set()).update(idx)
        for k in idx:
            w.tiles.pop((tile_ms, k), None)
        top = max(idx)
        w.pruned_upto[tile_ms] = max(w.pruned_upto.get(tile_ms, top), top)

    def _script_args(self, user_id: str, w: _UserWrite) -> tuple[list[str], list[str | int]]:
        by_g: dict[int, list[tuple[int, TileValue]]] = {}
        for (g, k), v in w.tiles.items():
            by_g.setdefault(g, []).append((k, v))
        sizes = sorted(set(by_g) | set(w.deletes))
        keys = [layout.meta_key(user_id)]
        args: list[str | int] = [self._ttl_s, "" if w.last_seen_ms is None else w.last_seen_ms]
        for g in sizes:
            keys.append(layout.tiles_key(user_id, g))
            tiles = by_g.get(g, [])
            args += [g, w.pruned_upto.get(g, ""), len(tiles)]
            for k, v in tiles:
                args += [k, layout.encode_tile(v)]
            dels = sorted(w.deletes.get(g, ()))
            args.append(len(dels))
            args += dels
        return keys, args

    def flush(self) -> list[str]:
        """Write every staged user in one pipeline; retry until Redis accepts it.

        Returns:
            The user ids written.

        Raises:
            redis.exceptions.ResponseError: a non-retryable error from Redis (bug or bad config).
        """
        if not self._pending:
            return []
        batch, self._pending = self._pending, {}
        calls = [self._script_args(u, w) for u, w in batch.items()]
        delay = self._backoff_s
        while True:
            try:
                pipe = self._client.pipeline(transaction=False)
                for keys, args in calls:
                    self._script(keys=keys, args=args, client=pipe)
                pipe.execute()
                break
            except RETRYABLE as exc:
                self.stats.retries += 1
                if self._on_retry:
                    self._on_retry(exc)
                log.warning("redis write failed (%s); retrying in %.2fs", exc, delay)
                self._sleep(delay)
                delay = min(delay * 2, self._max_backoff_s)
            except redis.exceptions.RedisError:
                self.stats.errors += 1
                raise
        self.stats.flushes += 1
        self.stats.users_written += len(batch)
        return list(batch)
