"""The Redis writer and the job against a real local 3-master Redis Cluster (issue 6, item 4).

- users spread over all masters, one pipeline per node; a user's two keys on one slot, one node;
  absolute, versioned writes (an older write never overwrites a newer one); TTLs set;
- a slot moved to another master between staging and flush (MOVED) and a master down during a
  flush: the flush still lands, resending only what was not applied;
- a slot left mid-migration: a user whose keys already moved is written on the importing node
  within the flush (ASK followed: ASKING + EVALSHA, no retry), one whose keys did not on the
  source; a new user (keys on neither node) waits for the migration to end (TRYAGAIN);
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
from redis.exceptions import MovedError, TryAgainError

from lookup import FeatureClient
from producers.replay import load_dataset
from sinks import layout
from sinks.redis_writer import TileWriter
from tests.cases import DATA_DIR
from tests.integration.clusterkit import Cluster, redis_cluster, start_cluster
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


def _move_slot(c: Cluster, slot: int, src: int, dst: int) -> None:
    """Migrate ``slot`` from node ``src`` to node ``dst`` the way redis-cli --cluster reshard
    does (SETSLOT IMPORTING / MIGRATING, MIGRATE of its keys, SETSLOT NODE on every node)."""
    c.start_migration(slot, src, dst)
    c.finish_migration(slot, src, dst)


def _no_retry(exc: Exception) -> None:
    """``on_retry`` of a flush that must not back off (the slot stays mid-migration, so a retry
    would wait forever): fail the test at the first retry."""
    raise AssertionError(f"the flush retried after {exc!r}")


def _same_slot_as(user: str, prefix: str) -> str:
    """A user id ``<prefix><i>`` whose keys hash to the same slot as ``user``'s."""
    return next(f"{prefix}{i}" for i in range(1_000_000) if _slot(f"{prefix}{i}") == _slot(user))


def _keys(user: str) -> tuple[str, str]:
    return layout.user_key(user), layout.profile_key(user)


def _stat(c: Cluster, i: int, command: str, field: str = "calls") -> int:
    """``field`` of ``command``'s line in node ``i``'s commandstats (0 if absent)."""
    return int(c.admin(i).info("commandstats").get(f"cmdstat_{command}", {}).get(field, 0))


def _asking_get(c: Cluster, i: int, key: str) -> bytes | None:
    """GET ``key`` on node ``i`` as admin, preceded by ASKING (the slot is importing there)."""
    pipe = c.admin(i).pipeline(transaction=False)
    pipe.execute_command("ASKING")
    pipe.get(key)
    return pipe.execute()[1]  # type: ignore[no-any-return]


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


def test_flush_during_slot_migration_follows_ask(clean: Cluster) -> None:
    c = clean
    moved = "ask-user"
    stays = _same_slot_as(moved, "ask-stay-")  # same slot, its keys left on the source
    slot = _slot(moved)
    src = c.owner(slot)
    dst = (src + 1) % 3
    w = _writer(c, on_retry=_no_retry)
    for u in (moved, stays):
        _stage(w, u, 2)
    w.flush()  # both users on the source; the writer has never sent anything to dst
    c.start_migration(slot, src, dst)
    c.migrate_keys(src, dst, _keys(moved))  # the moved user's keys are on dst now
    for i in range(3):
        c.admin(i).config_resetstat()
    for u in (moved, stays):
        _stage(w, u, 5)
    assert w.flush() == {moved: T0 + 4, stays: T0 + 4}
    # no retry, no backoff: the ASK was followed within the flush
    assert w.stats.retries == 0 and w.stats.errors == 0
    # the slot is still mid-migration and still the source's in the slot map
    assert c.migration_state(src, slot) == f"->-{c.node_id(dst)}"
    assert c.migration_state(dst, slot) == f"-<-{c.node_id(src)}"
    assert c.owner(slot) == src
    # the moved user was written on dst (ASKING + EVALSHA, the script loaded there first) ...
    on_src = c.admin(src).execute_command("CLUSTER", "GETKEYSINSLOT", slot, 10)
    assert sorted(on_src) == sorted(k.encode() for k in _keys(stays))  # only the other user's
    assert _stat(c, dst, "asking") == 1 and _stat(c, dst, "script|load") == 1
    assert _stat(c, dst, "evalsha") == 1 and _stat(c, dst, "evalsha", "rejected_calls") == 0
    assert _asking_get(c, dst, layout.profile_key(moved)).startswith(b"5;")  # type: ignore[union-attr]
    # ... the other one on the source, which answered ASK for the moved user only
    assert c.admin(src).get(layout.profile_key(stays)).startswith(b"5;")  # type: ignore[union-attr]
    assert _stat(c, src, "evalsha") == 1 and _stat(c, src, "evalsha", "rejected_calls") == 1
    assert _stat(c, src, "asking") == 0
    # the cluster lookup client (lookup ACL user) reads both, following the ASK itself
    assert _clicks(c, [moved, stays]) == [5, 5]
    # dst lost its script cache: NOSCRIPT reloads it and resends at once (no backoff)
    c.admin(dst).script_flush()
    for i in range(3):
        c.admin(i).config_resetstat()
    _stage(w, moved, 7)
    assert w.flush() == {moved: T0 + 6}
    assert w.stats.retries == 0
    assert _stat(c, src, "evalsha", "rejected_calls") == 2  # ASK, then ASK again after NOSCRIPT
    assert _stat(c, dst, "asking") == 2 and _stat(c, dst, "script|load") == 1
    assert _asking_get(c, dst, layout.profile_key(moved)).startswith(b"7;")  # type: ignore[union-attr]
    assert c.migration_state(src, slot) is not None and c.owner(slot) == src
    c.finish_migration(slot, src, dst)
    assert _clicks(c, [moved, stays]) == [7, 5]


def test_flush_follows_ask_to_a_node_not_in_the_slot_map() -> None:
    # a node just added (no slot yet, so not in CLUSTER SLOTS nor in the client's slot map)
    # importing its first slot: the ASK names a node the writer does not know yet
    with start_cluster(spare=1) as c:
        user = "ask-user"
        slot, new = _slot(user), 3
        src = c.owner(slot)
        client = redis_conn.connect_writer(_entry(c), "job")
        assert isinstance(client, RedisCluster)
        assert client.get_node(host="127.0.0.1", port=c.nodes[new].redis_port) is None
        w = TileWriter(client, ttl_s=TTL_S, profile_ttl_s=PROFILE_TTL_S, on_retry=_no_retry)
        _stage(w, user, 2)
        w.flush()
        c.start_migration(slot, src, new)
        c.migrate_keys(src, new, _keys(user))
        _stage(w, user, 4)
        assert w.flush() == {user: T0 + 3}
        assert w.stats.retries == 0
        assert _stat(c, new, "asking") == 1 and _stat(c, new, "script|load") == 1
        assert _stat(c, new, "evalsha") == 1
        assert _asking_get(c, new, layout.profile_key(user)).startswith(b"4;")  # type: ignore[union-attr]
        assert c.migration_state(new, slot) == f"-<-{c.node_id(src)}"


def test_flush_of_new_user_during_slot_migration_waits_for_it(clean: Cluster) -> None:
    c = clean
    user = "ask-new-user"  # a new user: its keys are on neither node
    slot = _slot(user)
    src = c.owner(slot)
    dst = (src + 1) % 3
    c.start_migration(slot, src, dst)
    seen: list[Exception] = []

    def finish_on_first_retry(exc: Exception) -> None:
        seen.append(exc)
        if len(seen) == 1:
            c.finish_migration(slot, src, dst)

    w = _writer(c, on_retry=finish_on_first_retry, backoff_s=0.01)
    _stage(w, user, 3)
    w.flush()
    # the source answers ASK, which is followed; but dst refuses a call on two keys it does not
    # all have while importing (TRYAGAIN): the flush backs off until the migration ends
    assert len(seen) == 1 and isinstance(seen[0], TryAgainError), seen
    assert _stat(c, dst, "asking") == 1
    assert c.admin(dst).exists(*_keys(user)) == 2
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
