"""Lookups on a real 3-node Redis Cluster (issue 5): ``get_many`` through a ``RedisCluster``
client, users spread over the nodes, each user's keys on one slot (hash tag), ACL users as on the
single server. The nodes are started by the project's RedisServer with cluster mode on. Also a
lookup during a slot migration: redis-py follows the ASK redirection (ASKING, which the lookup
user may send) to the importing node for the users whose keys already moved there."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from lookup import FeatureClient, Status
from sinks import layout
from tests.integration.clusterkit import SLOTS, Cluster, redis_cluster
from tests.integration.lookupkit import T0, sample_events, write_events
from userpulse import redis_conn

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
        # the source served the staying user and answered ASK for the moved one's two reads;
        # the importing node served those after ASKING; the slot is still mid-migration
        src_stats, dst_stats = admins[src].info("commandstats"), admins[dst].info("commandstats")
        assert src_stats["cmdstat_hgetall"]["calls"] == 1
        # (redis-py resends each redirected pipeline command alone: to the slot's owner, which
        # answers ASK again, then with ASKING to the node named)
        assert src_stats["cmdstat_hgetall"]["rejected_calls"] == 2
        assert src_stats["cmdstat_get"]["rejected_calls"] == 2
        assert dst_stats["cmdstat_asking"]["calls"] == 2
        assert dst_stats["cmdstat_hgetall"]["calls"] == dst_stats["cmdstat_get"]["calls"] == 1
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
