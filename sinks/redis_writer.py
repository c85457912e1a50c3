"""Pipelined, coalesced, absolute (replay-safe) writes of tiles to Redis.

The job stages the current value of every tile an event touched; :meth:`TileWriter.flush` sends
one ``EVALSHA`` per user (all of that user's staged tiles, pruned tiles and last-seen time,
in the user's one hash) in a
single pipeline. The script keeps a stored tile unless the staged one has a larger version ``n``
(an older write never overwrites a newer one, case H16), keeps ``last_seen`` as a maximum, and
refreshes the TTL of every key it touches (case H15). Values are absolute, never increments, so a
replay after a restore cannot double count (case H14).

Redis down or slow: :meth:`flush` retries with capped exponential backoff until it succeeds;
the caller blocks (Flink back-pressures and events wait in Kafka). Validation errors are not
retried.

Redis Cluster: given a ``RedisCluster``, :meth:`flush` sends one pipeline per primary (the users
grouped by the node owning their slot, :mod:`sinks.cluster_route`); an ASK (a slot in migration,
the user's keys already on the importing node) is followed in the same send (``ASKING`` +
``EVALSHA`` on that node, no backoff); MOVED / TRYAGAIN / CLUSTERDOWN or a node that is down make
it refresh the slot map and resend, through the same backoff, only the calls not applied yet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, cast

import redis
from redis.cluster import RedisCluster

from sinks import layout
from sinks.cluster_route import CLUSTER_RETRYABLE, RETRYABLE, Call, ClusterRoute
from userpulse.tiles import TileValue

log = logging.getLogger(__name__)
T = TypeVar("T")

# KEYS: the user's tile hash, the user's profile key (same hash slot).
# ARGV: ttl_s, last_seen_ms (or ""), profile_ttl_s, profile value "<version>;<json>" (or ""),
#       n_set, (field, value) * n_set, n_del, field * n_del,
#       n_pruned, (pruned field, index) * n_pruned
WRITE_LUA = """
local key = KEYS[1]
local pv = ARGV[4]
if pv ~= '' then
  local old = redis.call('GET', KEYS[2])
  if (not old) or tonumber(string.match(pv, '^%d+')) > tonumber(string.match(old, '^%d+')) then
    redis.call('SET', KEYS[2], pv, 'EX', ARGV[3])
  else
    redis.call('EXPIRE', KEYS[2], ARGV[3])
  end
end
local n = tonumber(ARGV[5])
local names = {'ls'}
for i = 1, n do names[i + 1] = ARGV[4 + 2 * i] end
local cur = redis.call('HMGET', key, unpack(names))
local out = {}
if ARGV[2] ~= '' and ((not cur[1]) or tonumber(ARGV[2]) > tonumber(cur[1])) then
  out[#out + 1] = 'ls'
  out[#out + 1] = ARGV[2]
end
for i = 1, n do
  local v = ARGV[5 + 2 * i]
  local old = cur[i + 1]
  if (not old) or tonumber(string.match(v, '^%d+')) > tonumber(string.match(old, '^%d+')) then
    out[#out + 1] = names[i + 1]
    out[#out + 1] = v
  end
end
local a = 6 + 2 * n
local d = tonumber(ARGV[a])
a = a + 1
if d > 0 then
  local dels = {}
  for i = 1, d do
    dels[i] = ARGV[a]
    a = a + 1
  end
  redis.call('HDEL', key, unpack(dels))
end
local np = tonumber(ARGV[a])
a = a + 1
for i = 1, np do
  local pf, pv2 = ARGV[a], ARGV[a + 1]
  a = a + 2
  local c = redis.call('HGET', key, pf)
  if (not c) or tonumber(pv2) > tonumber(c) then
    out[#out + 1] = pf
    out[#out + 1] = pv2
  end
end
if #out > 0 then redis.call('HSET', key, unpack(out)) end
redis.call('EXPIRE', key, ARGV[1])
return #out / 2
"""


class ProfileLike(Protocol):
    """What the writer needs of a profile (:class:`userpulse.profile.Profile`)."""

    version: int

    def record_json(self) -> str: ...


@dataclass
class _UserWrite:
    tiles: dict[tuple[int, int], TileValue] = field(default_factory=dict)
    deletes: dict[int, set[int]] = field(default_factory=dict)
    pruned_upto: dict[int, int] = field(default_factory=dict)
    last_seen_ms: int | None = None
    profile: ProfileLike | None = None


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
        client: a ``redis.Redis`` (decode_responses=False is fine), or a
            ``redis.cluster.RedisCluster`` (one pipeline per primary, see the module doc).
        ttl_s: TTL in seconds of the tile hash, set on every write (``layout.ttl_s()`` by
            default).
        profile_ttl_s: TTL in seconds of the profile key, set on every write
            (``layout.PROFILE_TTL_S`` by default).
        backoff_s: first retry delay in seconds; doubles up to ``max_backoff_s``.
        on_retry: called with the exception before each retry sleep (metrics hook).
        sleep: injectable sleep (seconds), for tests.
    """

    def __init__(
        self,
        client: redis.Redis | RedisCluster,
        ttl_s: int | None = None,
        profile_ttl_s: int | None = None,
        backoff_s: float = 0.05,
        max_backoff_s: float = 5.0,
        on_retry: Callable[[Exception], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if ttl_s is not None and ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
        self._client = client
        if profile_ttl_s is not None and profile_ttl_s <= 0:
            raise ValueError(f"profile_ttl_s must be > 0, got {profile_ttl_s}")
        self._ttl_s = ttl_s or layout.ttl_s()
        self._profile_ttl_s = profile_ttl_s or layout.PROFILE_TTL_S
        self._sha: str | None = None  # loaded lazily; reloaded after NOSCRIPT (Redis restarted)
        self._route = ClusterRoute(client, WRITE_LUA) if isinstance(client, RedisCluster) else None
        self._retryable = RETRYABLE if self._route is None else CLUSTER_RETRYABLE
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

    def stage_profile(self, user_id: str, profile: ProfileLike) -> None:
        """Stage the user's profile; it is serialized at flush time (many events, one write) and
        kept by Redis unless the stored version is >= ``profile.version``."""
        w = self._pending.get(user_id)
        if w is None:
            w = self._pending[user_id] = _UserWrite()
        w.profile = profile

    def stage_pruned_mark(self, user_id: str, tile_ms: int, index: int) -> None:
        """Raise the pruned-up-to marker of ``tile_ms`` to ``index`` without deleting fields
        (lookups of those tiles then say out_of_retention)."""
        w = self._pending.get(user_id)
        if w is None:
            w = self._pending[user_id] = _UserWrite()
        w.pruned_upto[tile_ms] = max(w.pruned_upto.get(tile_ms, index), index)

    def read_profile(self, user_id: str) -> tuple[str | None, bool]:
        """The user's stored profile JSON (or None) and whether the user's tile hash exists;
        one round trip, retried like :meth:`flush`.

        Raises:
            redis.exceptions.ResponseError: a non-retryable error from Redis.
            ValueError: a stored value that is not a v1 profile.
        """
        user_id_key = layout.user_key(user_id)

        def read() -> list[object]:
            r = self._client if self._route is None else self._route.client_of(user_id_key)
            pipe = r.pipeline(transaction=False)
            pipe.get(layout.profile_key(user_id))
            pipe.exists(user_id_key)
            return list(pipe.execute())

        raw, exists = self._retry(read)
        doc = None if raw is None else layout.decode_profile(raw)[1]  # type: ignore[arg-type]
        return doc, bool(exists)

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

    def _script_args(self, w: _UserWrite) -> list[str | int]:
        args: list[str | int] = [
            self._ttl_s,
            "" if w.last_seen_ms is None else w.last_seen_ms,
            self._profile_ttl_s,
            ""
            if w.profile is None
            else layout.encode_profile(w.profile.version, w.profile.record_json()),
            len(w.tiles),
        ]
        for (g, k), v in w.tiles.items():
            args += [layout.tile_field(g, k), layout.encode_tile(v)]
        dels = [layout.tile_field(g, k) for g, ks in w.deletes.items() for k in sorted(ks)]
        args.append(len(dels))
        args += dels
        args.append(len(w.pruned_upto))
        for g, k in w.pruned_upto.items():
            args += [layout.pruned_field(g), k]
        return args

    def _retry(self, fn: Callable[[], T]) -> T:
        """``fn()``, retried with capped exponential backoff on connection errors and timeouts
        (on a cluster also on redirections and CLUSTERDOWN, refreshing the slot map before each
        retry); a lost script cache (NOSCRIPT) reloads the script and resends at once."""
        delay = self._backoff_s
        while True:
            try:
                return fn()
            except redis.exceptions.NoScriptError:
                self._sha = None  # the server lost its script cache: load again and resend
            except self._retryable as exc:
                self.stats.retries += 1
                if self._on_retry:
                    self._on_retry(exc)
                log.warning("redis call failed (%s); retrying in %.2fs", exc, delay)
                self._sleep(delay)
                delay = min(delay * 2, self._max_backoff_s)
                if self._route is not None:
                    self._route.refresh()
            except redis.exceptions.RedisError:
                self.stats.errors += 1
                raise

    def flush(self) -> dict[str, int | None]:
        """Write every staged user in one pipeline (one per primary on a cluster); retry until
        Redis accepts it.

        Returns:
            The user ids written, each with the newest event time (ms) staged for it.

        Raises:
            redis.exceptions.ResponseError: a non-retryable error from Redis (bug or bad config).
        """
        if not self._pending:
            return {}
        batch, self._pending = self._pending, {}
        calls: list[Call] = [
            (layout.user_key(u), layout.profile_key(u), self._script_args(w))
            for u, w in batch.items()
        ]
        if self._route is None:
            self._retry(self._server_sender(calls))
        else:
            self._retry(self._cluster_sender(self._route, calls))
        self.stats.flushes += 1
        self.stats.users_written += len(batch)
        return {u: w.last_seen_ms for u, w in batch.items()}

    def _server_sender(self, calls: list[Call]) -> Callable[[], None]:
        """A send function for :meth:`_retry`: all calls in one pipeline to the one server."""
        client = cast(redis.Redis, self._client)  # no route: not a cluster

        def send() -> None:
            if self._sha is None:
                self._sha = str(client.script_load(WRITE_LUA))
            pipe = client.pipeline(transaction=False)
            for key, pkey, args in calls:
                pipe.evalsha(self._sha, 2, key, pkey, *args)
            pipe.execute()

        return send

    @staticmethod
    def _cluster_sender(route: ClusterRoute, calls: list[Call]) -> Callable[[], None]:
        """A send function for :meth:`_retry` that resends only the calls not applied yet."""
        left = calls

        def send() -> None:
            nonlocal left
            left, exc = route.send(left)
            if exc is not None:
                raise exc

        return send
