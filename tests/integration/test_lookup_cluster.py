"""Lookups on a real 3-node Redis Cluster (issue 5): ``get_many`` through a ``RedisCluster``
client, users spread over the nodes, each user's keys on one slot (hash tag), ACL users as on the
single server. The nodes are started by the project's RedisServer with cluster mode on. Also a
lookup during a slot migration: redis-py follows the ASK redirection (ASKING, which the lookup
user may send) to the importing node for the users whose keys already moved there. And (issue 16)
the sync and asyncio clients and the HTTP service on the cluster from the settings alone, with
``lookup_max_batch_users`` and one user's WRONGTYPE answered as that user's status."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from redis.crc import key_slot

from tests.integration.clusterkit import SLOTS, Cluster, redis_cluster
from tests.integration.lookupkit import T0, password_env, sample_events, write_events
from tests.integration.servicekit import Service
from userpulse import layout, redis_conn
from userpulse.lookup import FeatureClient, Status, TooManyUsers
from userpulse.lookup.aio import AsyncFeatureClient

pytestmark = pytest.mark.integration
cluster = redis_cluster  # the module's cluster (tests/integration/clusterkit.py)


def test_get_many_across_nodes(cluster: Cluster) -> None:
    users = [f"user-{i}" for i in range(12)]
    node_of = {u: key_slot(layout.user_key(u).encode()) * 3 // SLOTS for u in users}
    assert set(node_of.values()) == {0, 1, 2}  # the users live on all three nodes
    for u in users:  # a user's keys share one slot (the hash tag): no cross-slot reads
        assert key_slot(layout.user_key(u).encode()) == key_slot(layout.profile_key(u).encode())
    for n, node in enumerate(cluster.nodes):  # the job's writer, one node at a time
        write_events(node, [e for u in users[:10] if node_of[u] == n for e in sample_events(u)])
    entry = cluster.nodes[0].model_copy(update={"redis_cluster": True})
    client = FeatureClient.from_settings(entry, cluster=True)
    got = client.get_many(users, ["count_click_1m", "last_seen"], as_of=T0 + 9_999)
    assert [got[u]["count_click_1m"].value for u in users] == [3] * 10 + [None, None]
    assert all(got[u]["last_seen"].value == T0 + 9_000 for u in users[:10])
    assert all(got[u]["count_click_1m"].status is Status.NOT_FOUND for u in users[10:])
    # one pipeline: each node answered exactly its users' reads (2 per user), nothing else
    for n, node in enumerate(cluster.nodes):
        stats = redis_conn.connect(node, "admin").info("commandstats")
        mine = sum(1 for u in users if node_of[u] == n)
        assert stats["cmdstat_hgetall"]["calls"] == mine
    # the lookup user is read-only on every node
    for node in cluster.nodes:
        r = redis_conn.connect(node, "lookup")
        with pytest.raises(Exception, match="no permissions"):
            r.execute_command("FLUSHALL")


def test_get_many_follows_ask_during_slot_migration(cluster: Cluster) -> None:
    moved = "ask-lookup-user"
    slot = key_slot(layout.user_key(moved).encode())
    stays = next(  # a user of the same slot whose keys stay on the source
        u
        for u in (f"ask-lookup-{i}" for i in range(1_000_000))
        if key_slot(layout.user_key(u).encode()) == slot
    )
    src = cluster.owner(slot)
    dst = (src + 1) % 3
    admins = [cluster.admin(i) for i in range(3)]
    write_events(cluster.nodes[src], sample_events(moved) + sample_events(stays))
    cluster.start_migration(slot, src, dst)
    try:
        cluster.migrate_keys(src, dst, [layout.user_key(moved), layout.profile_key(moved)])
        for a in admins:
            a.config_resetstat()
        entry = cluster.nodes[0].model_copy(update={"redis_cluster": True})
        client = FeatureClient.from_settings(entry, cluster=True)  # the lookup ACL user
        got = client.get_many([moved, stays], ["count_click_1m", "last_seen"], as_of=T0 + 9_999)
        assert [got[u]["count_click_1m"].value for u in (moved, stays)] == [3, 3]
        assert [got[u]["last_seen"].value for u in (moved, stays)] == [T0 + 9_000] * 2
        assert all(got[u]["count_click_1m"].status is Status.PRESENT for u in (moved, stays))
        # two round trips (the pre-merged fields, written as of now, do not hold at T0: the fast
        # path's HMGET + GET, then the full HGETALL + GET): the source served the staying user
        # and answered ASK for the moved one's reads; the importing node served those after
        # ASKING; the slot is still mid-migration
        src_stats, dst_stats = admins[src].info("commandstats"), admins[dst].info("commandstats")
        assert src_stats["cmdstat_hgetall"]["calls"] == src_stats["cmdstat_hmget"]["calls"] == 1
        # (redis-py resends each redirected pipeline command alone: to the slot's owner, which
        # answers ASK again, then with ASKING to the node named)
        assert src_stats["cmdstat_hgetall"]["rejected_calls"] == 2
        assert src_stats["cmdstat_hmget"]["rejected_calls"] == 2
        assert src_stats["cmdstat_get"]["rejected_calls"] == 4
        assert dst_stats["cmdstat_asking"]["calls"] == 4
        assert dst_stats["cmdstat_hgetall"]["calls"] == dst_stats["cmdstat_hmget"]["calls"] == 1
        # two round trips (the pre-merged fields, then the full read), each with the profile's
        # GET and the generation marker's; the run-id record a new cluster client reads with
        # its first lookup (lookup/runguard.py); the store-wide keys count where their slot is
        gen_on_dst = cluster.owner(key_slot(layout.GENERATION_KEY.encode())) == dst
        run_on_dst = cluster.owner(key_slot(layout.RUN_KEY.encode())) == dst
        assert dst_stats["cmdstat_get"]["calls"] == 2 + 2 * gen_on_dst + run_on_dst
        assert cluster.migration_state(src, slot) == f"->-{cluster.node_id(dst)}"
        assert cluster.owner(slot) == src
    finally:  # back to the initial layout, without the two users, statistics reset
        cluster.finish_migration(slot, src, dst)
        cluster.start_migration(slot, dst, src)
        cluster.finish_migration(slot, dst, src)
        for u in (moved, stays):
            admins[src].delete(layout.user_key(u), layout.profile_key(u))
        for a in admins:
            a.config_resetstat()


def test_clients_and_service_follow_the_settings_alone(cluster: Cluster, tmp_path: Path) -> None:
    """``USERPULSE_REDIS_CLUSTER=true`` and ``lookup_max_batch_users`` are enough: no flag."""
    users = [f"settings-{i}" for i in range(12)]
    node_of = {u: key_slot(layout.user_key(u).encode()) * 3 // SLOTS for u in users}
    assert set(node_of.values()) == {0, 1, 2}
    for n, node in enumerate(cluster.nodes):
        write_events(node, [e for u in users[:10] if node_of[u] == n for e in sample_events(u)])
    # a key of the wrong type on one node: that user's status, the batch is answered
    cluster.admin(node_of[users[10]]).set(layout.user_key(users[10]), "not a hash")
    entry = cluster.nodes[0].model_copy(
        update={"redis_cluster": True, "lookup_max_batch_users": 11}
    )
    names = ["count_click_1m", "last_seen"]
    want = [3] * 10 + [None]

    def check(got: dict[str, dict[str, Any]]) -> None:
        assert [got[u]["count_click_1m"].value for u in users[:11]] == want
        assert all(got[u]["last_seen"].value == T0 + 9_000 for u in users[:10])
        bad = got[users[10]]["count_click_1m"]
        assert bad.status is Status.STORE_ERROR
        assert bad.error is not None
        assert bad.error.startswith(f"{layout.user_key(users[10])}: ResponseError: WRONGTYPE")

    client = FeatureClient.from_settings(entry)  # settings alone
    check(client.get_many(users[:11], names, as_of=T0 + 9_999))
    with pytest.raises(TooManyUsers, match="12 users in one lookup; at most 11"):
        client.get_many(users, names, as_of=T0 + 9_999)

    async def run_async() -> dict[str, dict[str, Any]]:
        c = AsyncFeatureClient.from_settings(entry)
        try:
            await c.ping()
            with pytest.raises(TooManyUsers):
                await c.get_many(users, names, as_of=T0 + 9_999)
            return await c.get_many(users[:11], names, as_of=T0 + 9_999)
        finally:
            await c.aclose()

    check(asyncio.run(run_async()))

    env = {
        **password_env(entry),
        "USERPULSE_REDIS_CLUSTER": "true",
        "USERPULSE_LOOKUP_MAX_BATCH_USERS": "11",
    }
    svc = Service(entry, tmp_path / "svc.log", env=env)
    try:
        assert svc.get("/readyz")[0] == 200
        body = {"user_ids": users[:11], "features": names, "as_of_ms": T0 + 9_999}
        status, got, _ = svc.request("POST", "/v1/features/batch", body)
        assert status == 200
        assert [got["users"][u]["count_click_1m"]["value"] for u in users[:11]] == want
        assert got["users"][users[10]]["last_seen"]["status"] == "store_error"
        status, got, _ = svc.request("POST", "/v1/features/batch", {**body, "user_ids": users})
        assert status == 422 and got["error"]["code"] == "too_many_users"
    finally:
        svc.stop()
        for u in users:
            cluster.admin(node_of[u]).delete(layout.user_key(u), layout.profile_key(u))
        for i in range(3):
            cluster.admin(i).config_resetstat()
