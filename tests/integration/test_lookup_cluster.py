"""Lookups on a real 3-node Redis Cluster (issue 5): ``get_many`` through a ``RedisCluster``
client, users spread over the nodes, each user's keys on one slot (hash tag), ACL users as on the
single server. The nodes are started by the project's RedisServer with cluster mode on."""

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
