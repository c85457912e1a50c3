"""Lookups on a real 3-node Redis Cluster (issue 5): ``get_many`` through a ``RedisCluster``
client, users spread over the nodes, each user's keys on one slot (hash tag), ACL users as on the
single server. The nodes are started by the project's RedisServer with cluster mode on."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator

import pytest
from redis.cluster import key_slot

from lookup import FeatureClient, Status
from sinks import layout
from tests.integration.lookupkit import T0, sample_events, write_events
from userpulse import redis_conn
from userpulse.settings import REPO_ROOT, Settings
from userpulse.stack.redis_server import RedisServer

pytestmark = pytest.mark.integration
SLOTS = 16384


def _free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports that are free right now (all bound at once, then closed)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for sk in socks:
            sk.bind(("127.0.0.1", 0))
        return [int(sk.getsockname()[1]) for sk in socks]
    finally:
        for sk in socks:
            sk.close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[list[Settings]]:
    """Settings of the 3 masters of a fresh cluster (slots split in thirds, node 0 first);
    the nodes share the ACL users' passwords."""
    ports = _free_ports(6)  # 3 client ports, 3 cluster bus ports (default port + 10000 may
    # exceed 65535, so they are given explicitly)
    root = REPO_ROOT / ".userpulse" / "test" / f"cluster-{ports[0]}"
    secrets = {f"redis_{r}_password": f"test-{r}-pw" for r in ("job", "lookup", "admin")}
    nodes = [
        Settings(_env_file=None, home=root / f"n{i}", redis_port=ports[i], **secrets)  # type: ignore[call-arg, arg-type]
        for i in range(3)
    ]
    bus = ports[3:]
    servers = [
        RedisServer(
            s,
            extra_args=[
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-port", str(bus[i])),
            ],
        )
        for i, s in enumerate(nodes)
    ]
    try:
        for srv in servers:
            srv.start()
        admins = [redis_conn.connect(s, "admin") for s in nodes]
        for i, a in enumerate(admins):
            a.execute_command("CLUSTER", "ADDSLOTSRANGE", i * SLOTS // 3, (i + 1) * SLOTS // 3 - 1)
        for i, s in enumerate(nodes[1:], start=1):
            admins[0].execute_command("CLUSTER", "MEET", "127.0.0.1", s.redis_port, bus[i])
        deadline = time.monotonic() + 30
        while not all(
            a.execute_command("CLUSTER", "INFO").decode().count("cluster_state:ok") for a in admins
        ):
            assert time.monotonic() < deadline, "cluster did not become ok"
            time.sleep(0.1)
        yield nodes
    finally:
        for srv in servers:
            srv.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_get_many_across_nodes(cluster: list[Settings]) -> None:
    users = [f"user-{i}" for i in range(12)]
    node_of = {u: key_slot(layout.user_key(u).encode()) * 3 // SLOTS for u in users}
    assert set(node_of.values()) == {0, 1, 2}  # the users live on all three nodes
    for u in users:  # a user's keys share one slot (the hash tag): no cross-slot reads
        assert key_slot(layout.user_key(u).encode()) == key_slot(layout.profile_key(u).encode())
    for n, node in enumerate(cluster):  # the job's writer, one node at a time (see docs)
        write_events(node, [e for u in users[:10] if node_of[u] == n for e in sample_events(u)])
    entry = cluster[0].model_copy(update={"redis_cluster": True})
    client = FeatureClient.from_settings(entry, cluster=True)
    got = client.get_many(users, ["count_click_1m", "last_seen"], as_of=T0 + 9_999)
    assert [got[u]["count_click_1m"].value for u in users] == [3] * 10 + [None, None]
    assert all(got[u]["last_seen"].value == T0 + 9_000 for u in users[:10])
    assert all(got[u]["count_click_1m"].status is Status.NOT_FOUND for u in users[10:])
    # one pipeline: each node answered exactly its users' reads (2 per user), nothing else
    for n, node in enumerate(cluster):
        stats = redis_conn.connect(node, "admin").info("commandstats")
        mine = sum(1 for u in users if node_of[u] == n)
        assert stats["cmdstat_hgetall"]["calls"] == mine
    # the lookup user is read-only on every node
    for node in cluster:
        r = redis_conn.connect(node, "lookup")
        with pytest.raises(Exception, match="no permissions"):
            r.execute_command("FLUSHALL")
