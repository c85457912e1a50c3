"""The Redis writer and the job against a real local 3-master Redis Cluster (issue 6, item 4).

- users spread over all masters, one pipeline per node; a user's two keys on one slot, one node;
  absolute, versioned writes (an older write never overwrites a newer one); TTLs set;
- a slot moved to another master between staging and flush (MOVED), a slot in migration (ASK)
  and a master down during a flush: the flush still lands, resending only what was not applied;
- the real PyFlink job writing to the cluster, read back through the cluster lookup client and
  compared with the reference implementation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import AskError, MovedError

from lookup import FeatureClient
from producers.replay import load_dataset
from sinks import layout
from sinks.redis_writer import TileWriter
from tests.cases import DATA_DIR
from tests.integration.clusterkit import Cluster, redis_cluster
from tests.integration.compare import as_of_points, compare
from tests.integration.jobkit import drop_topics, job_settings, run_bounded, send_events
from userpulse import redis_conn
from userpulse.events import Event, EventType
from userpulse.features import TILE_SIZES_MS
from userpulse.profile import fold, revive
from userpulse.settings import Settings
from userpulse.tiles import add_event, empty_tile

pytestmark = pytest.mark.integration
cluster = redis_cluster  # the module's cluster (tests/integration/clusterkit.py)
T0 = 1717243200000  # 2024-06-01T12:00:00Z: aligned to every tile size up to 1 h
TTL_S, PROFILE_TTL_S = 1_000, 2_000


def _entry(c: Cluster) -> Settings:
    """Settings of a cluster client entering through node 0."""
    return c.nodes[0].model_copy(update={"redis_cluster": True})


@pytest.fixture
def clean(cluster: Cluster) -> Iterator[Cluster]:
    """The module's cluster, empty, with command statistics reset on every node."""
    cluster.flushall()
    for i in range(len(cluster.nodes)):
        cluster.admin(i).config_resetstat()
    yield cluster
    cluster.flushall()


def _writer(c: Cluster, **kw: object) -> TileWriter:
    """A TileWriter on a RedisCluster client of ``c``, connected as the job user."""
    client = redis_conn.connect_writer(_entry(c), "job")
    assert isinstance(client, RedisCluster)
    return TileWriter(client, ttl_s=TTL_S, profile_ttl_s=PROFILE_TTL_S, **kw)  # type: ignore[arg-type]


def _stage(w: TileWriter, user: str, n: int) -> None:
    """Stage ``user``'s state after its first ``n`` clicks (at T0, T0+1 ms, ...): its tile of
    every size (version ``n``), last seen and profile (version ``n``)."""
    tile = empty_tile()
    events = [Event(f"{user}-{i}", EventType.CLICK, user, T0 + i, "s") for i in range(n)]
    p = revive(None, events[0])
    for e in events:
        add_event(tile, e)
        fold(p, e, e.event_time_ms - 5_000, 600_000)
    for g in TILE_SIZES_MS:
        w.stage_tile(user, g, T0 // g, tile)
    w.stage_last_seen(user, T0 + n - 1)
    w.stage_profile(user, p)


def _clicks(c: Cluster, users: list[str]) -> list[int | None]:
    """``count_click_1m`` of each user as of T0 + 59.999 s, through the cluster lookup client."""
    got = FeatureClient.from_settings(_entry(c), cluster=True).get_many(
        users, ["count_click_1m"], as_of=T0 + 59_999
    )
    return [got[u]["count_click_1m"].value for u in users]


def _evalsha_calls(c: Cluster, i: int) -> int:
    """EVALSHA calls node ``i`` executed since the last CONFIG RESETSTAT."""
    stats = c.admin(i).info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def _slot(user: str) -> int:
    return key_slot(layout.user_key(user).encode())


def _move_slot(c: Cluster, slot: int, src: int, dst: int, finish: bool = True) -> None:
    """Migrate ``slot`` from node ``src`` to node ``dst`` the way redis-cli --cluster reshard
    does (SETSLOT IMPORTING / MIGRATING, MIGRATE of its keys, SETSLOT NODE on every node);
    with ``finish=False`` stop after MIGRATING/IMPORTING (keys not moved)."""
    src_id, dst_id = c.node_id(src), c.node_id(dst)
    c.admin(dst).execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
    c.admin(src).execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
    if finish:
        _finish_move(c, slot, src, dst)


def _finish_move(c: Cluster, slot: int, src: int, dst: int) -> None:
    """Move ``slot``'s keys from ``src`` to ``dst`` and assign the slot to ``dst`` everywhere."""
    keys = c.admin(src).execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
    if keys:
        s = c.nodes[dst]
        assert s.redis_admin_password is not None
        c.admin(src).execute_command(
            *("MIGRATE", "127.0.0.1", s.redis_port, "", 0, 5_000),
            *("AUTH2", s.redis_admin_user, s.redis_admin_password.get_secret_value()),
            *("KEYS", *keys),
        )
    dst_id = c.node_id(dst)
    for i in (dst, src, *(j for j in range(len(c.nodes)) if j not in (src, dst))):
        c.admin(i).execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
    c.wait_ok()


def test_writes_spread_over_masters_versioned_with_ttl(clean: Cluster) -> None:
    c = clean
    users = [f"user-{i}" for i in range(60)]
    owner = {u: c.owner(_slot(u)) for u in users}
    assert set(owner.values()) == {0, 1, 2}
    w = _writer(c)
    for u in users:
        _stage(w, u, 3)
    assert w.flush() == {u: T0 + 2 for u in users}
    # every master got exactly its users' keys (2 per user) and one EVALSHA per user
    for i in range(3):
        mine = sum(1 for u in users if owner[u] == i)
        assert mine > 0
        assert c.admin(i).dbsize() == 2 * mine
        assert _evalsha_calls(c, i) == mine
    for u in users:
        key, pkey = layout.user_key(u), layout.profile_key(u)
        slot = int(c.admin(0).execute_command("CLUSTER", "KEYSLOT", key))
        assert slot == _slot(u) == int(c.admin(0).execute_command("CLUSTER", "KEYSLOT", pkey))
        node = c.admin(owner[u])
        assert node.exists(key, pkey) == 2  # both on the owning node (no CROSSSLOT, no MOVED)
        assert TTL_S - 5 <= node.ttl(key) <= TTL_S
        assert PROFILE_TTL_S - 5 <= node.ttl(pkey) <= PROFILE_TTL_S
        assert node.get(pkey).startswith(b"3;")  # type: ignore[union-attr]
    assert _clicks(c, users) == [3] * len(users)
    # an older state (2 clicks) arrives late: nothing is overwritten, TTLs are refreshed
    for u in users:
        _stage(w, u, 2)
    w.flush()
    assert _clicks(c, users) == [3] * len(users)
    assert all(c.admin(owner[u]).get(layout.profile_key(u)).startswith(b"3;") for u in users)  # type: ignore[union-attr]
    # a newer one (5 clicks) for half of them replaces it
    for u in users[::2]:
        _stage(w, u, 5)
    w.flush()
    assert _clicks(c, users) == [5 if i % 2 == 0 else 3 for i in range(len(users))]
    # read_profile routes to the owning node too
    doc, exists = w.read_profile(users[0])
    assert exists and doc is not None and json.loads(doc)["v"] == 5
    assert w.read_profile("never-seen") == (None, False)
    assert w.stats.retries == 0 and w.stats.users_written == 150


def _users_by_node(c: Cluster, n: int = 30) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for i in range(n):
        u = f"mv-{i}"
        out[c.owner(_slot(u))].append(u)
    assert all(out.values())
    return out


def test_flush_after_slot_moved_follows_moved(clean: Cluster) -> None:
    c = clean
    by_node = _users_by_node(c)
    users = [u for us in by_node.values() for u in us]
    moved = by_node[0][0]
    src, dst = 0, 1
    retries: list[Exception] = []
    w = _writer(c, on_retry=retries.append, backoff_s=0.01)
    for u in users:
        _stage(w, u, 2)
    w.flush()  # the script is loaded everywhere; the moved user has keys to migrate
    for u in users:
        _stage(w, u, 4)
    _move_slot(c, _slot(moved), src, dst)  # after staging, before the flush
    for i in range(3):
        c.admin(i).config_resetstat()
    w.flush()
    assert len(retries) == 1 and isinstance(retries[0], MovedError), retries
    assert c.admin(dst).exists(layout.user_key(moved), layout.profile_key(moved)) == 2
    assert c.admin(src).execute_command("CLUSTER", "COUNTKEYSINSLOT", _slot(moved)) == 0
    assert _clicks(c, users) == [4] * len(users)
    # only the redirected call was sent again: one EVALSHA per user, plus the one rejected
    stats = c.admin(src).info("commandstats")["cmdstat_evalsha"]
    assert stats["calls"] == len(by_node[0]) - 1 and stats["rejected_calls"] == 1
    assert _evalsha_calls(c, dst) == len(by_node[1]) + 1
    assert _evalsha_calls(c, 2) == len(by_node[2])


def test_flush_during_slot_migration_waits_for_it(clean: Cluster) -> None:
    c = clean
    user = "ask-user"  # a new user: its keys are on neither node, so the source answers ASK
    src = c.owner(_slot(user))
    dst = (src + 1) % 3
    _move_slot(c, _slot(user), src, dst, finish=False)
    seen: list[Exception] = []

    def finish_on_first_retry(exc: Exception) -> None:
        seen.append(exc)
        if len(seen) == 1:
            _finish_move(c, _slot(user), src, dst)

    w = _writer(c, on_retry=finish_on_first_retry, backoff_s=0.01)
    _stage(w, user, 3)
    w.flush()
    assert isinstance(seen[0], AskError) and not isinstance(seen[0], MovedError), seen
    assert len(seen) == 1
    assert c.admin(dst).exists(layout.user_key(user), layout.profile_key(user)) == 2
    assert _clicks(c, [user]) == [3]


def test_flush_with_a_master_down_lands_when_it_returns(clean: Cluster) -> None:
    c = clean
    by_node = _users_by_node(c)
    users = [u for us in by_node.values() for u in us]
    down = 2
    seen: list[Exception] = []

    def restart_on_first_retry(exc: Exception) -> None:
        seen.append(exc)
        if len(seen) == 1:
            c.servers[down].start()

    w = _writer(c, on_retry=restart_on_first_retry, backoff_s=0.05, max_backoff_s=0.5)
    for u in users:
        _stage(w, u, 3)
    w.flush()  # scripts loaded, connections open
    for u in users:
        _stage(w, u, 6)
    assert c.servers[down].stop()
    try:
        w.flush()  # blocks: backs off while the node is down and while it rejoins
    finally:
        c.servers[down].start()  # no-op when running
        c.wait_ok()
    assert isinstance(seen[0], redis.exceptions.ConnectionError), seen
    # the node restarted empty (no persistence): its users' keys are the resent writes
    assert c.admin(down).dbsize() == 2 * len(by_node[down])
    assert _clicks(c, users) == [6] * len(users)


def test_job_writes_to_cluster_matching_reference(stack: Settings, clean: Cluster) -> None:
    events = load_dataset("ebnerd", DATA_DIR)
    node = clean.nodes[0]
    s = job_settings(
        stack,
        partitions=3,
        redis_port=node.redis_port,
        redis_cluster=True,
        redis_job_password=node.redis_job_password,
        redis_lookup_password=node.redis_lookup_password,
        redis_admin_password=node.redis_admin_password,
    )
    try:
        send_events(s, events)
        assert run_bounded(s) == {"dead_lettered": 0, "late": 0}
        users = {e.user_id for e in events}
        per_node = [clean.admin(i).dbsize() for i in range(3)]
        assert sum(per_node) == 2 * len(users) and all(per_node), per_node
        res = compare(FeatureClient.from_settings(s, cluster=True), events, as_of_points(events))
        assert res.mismatches == 0, res.bad
        assert res.compared > 10_000 and res.nonzero > 1_000, res
    finally:
        drop_topics(s)
