"""A local Redis Cluster for the integration tests: 3 masters (no replicas) started by the
project's :class:`RedisServer` in cluster mode, on free ports, with the ACL users of the single
server (the same passwords on every node).

Use :func:`start_cluster` (a context manager) or the module-scoped :func:`redis_cluster` fixture
(import it into the test module under its name).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests import REPO_ROOT
from tests.integration.jobkit import job_settings
from userpulse import redis_conn
from userpulse.settings import Settings
from userpulse.stack.redis_server import RedisServer

SLOTS = 16384
PASSWORDS = {f"redis_{r}_password": f"test-{r}-pw" for r in ("job", "lookup", "admin")}


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports that are free right now (all bound at once, then closed)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for sk in socks:
            sk.bind(("127.0.0.1", 0))
        return [int(sk.getsockname()[1]) for sk in socks]
    finally:
        for sk in socks:
            sk.close()


@dataclass
class Cluster:
    """A running local cluster.

    Attributes:
        nodes: Settings of each master (node ``i`` owns slots ``[i*S/n, (i+1)*S/n)`` at start,
            ``S`` = 16384); they carry the ACL passwords. Use ``nodes[0]`` with
            ``redis_cluster=True`` as the entry point of cluster clients.
        servers: the :class:`RedisServer` of each node (stop / start to take a node down).
        bus_ports: the cluster bus port of each node.
    """

    nodes: list[Settings]
    servers: list[RedisServer]
    bus_ports: list[int]

    def admin(self, i: int) -> redis.Redis:
        """An admin ``redis.Redis`` on node ``i`` only (no redirections followed)."""
        return redis_conn.connect(self.nodes[i], "admin")

    def node_id(self, i: int) -> str:
        """The cluster node id of node ``i`` (CLUSTER MYID)."""
        return str(self.admin(i).execute_command("CLUSTER", "MYID").decode())

    def owner(self, slot: int) -> int:
        """Index of the node owning ``slot``, according to node 0 (CLUSTER SLOTS)."""
        ports = [s.redis_port for s in self.nodes]
        for lo, hi, primary, *_ in self.admin(0).execute_command("CLUSTER", "SLOTS"):
            if lo <= slot <= hi:
                return ports.index(int(primary[1]))
        raise LookupError(f"slot {slot} is not covered")

    def start_migration(self, slot: int, src: int, dst: int) -> None:
        """Set ``slot`` IMPORTING on node ``dst`` and MIGRATING on node ``src`` (the first step of
        ``redis-cli --cluster reshard``); no key moves."""
        self.admin(dst).execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", self.node_id(src))
        self.admin(src).execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", self.node_id(dst))

    def migrate_keys(self, src: int, dst: int, keys: Sequence[bytes | str]) -> None:
        """MIGRATE ``keys`` (of one slot in migration) from node ``src`` to node ``dst``."""
        if not keys:
            return
        s = self.nodes[dst]
        assert s.redis_admin_password is not None
        self.admin(src).execute_command(
            *("MIGRATE", "127.0.0.1", s.redis_port, "", 0, 5_000),
            *("AUTH2", s.redis_admin_user, s.redis_admin_password.get_secret_value()),
            *("KEYS", *keys),
        )

    def finish_migration(self, slot: int, src: int, dst: int) -> None:
        """Move ``slot``'s remaining keys from node ``src`` to node ``dst`` and assign the slot to
        ``dst`` on every node (SETSLOT NODE: target, source, then the others); wait for ok."""
        keys = self.admin(src).execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
        self.migrate_keys(src, dst, keys)
        dst_id = self.node_id(dst)
        others = (j for j in range(len(self.nodes)) if j not in (src, dst))
        for i in (dst, src, *others):
            self.admin(i).execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        self.wait_ok()

    def migration_state(self, i: int, slot: int) -> str | None:
        """How node ``i`` sees ``slot`` in migration (its own CLUSTER NODES line):
        ``"->-<node id>"`` (migrating to), ``"-<-<node id>"`` (importing from), or None."""
        nodes = self.admin(i).execute_command("CLUSTER", "NODES")
        text = nodes.decode() if isinstance(nodes, bytes) else str(nodes)
        mine = next(line for line in text.splitlines() if "myself" in line.split()[2])
        for part in mine.split()[8:]:
            if part.startswith(f"[{slot}-"):
                return part[len(f"[{slot}") : -1]
        return None

    def flushall(self) -> None:
        """Delete every key on every node."""
        for i in range(len(self.nodes)):
            self.admin(i).flushall()

    def wait_ok(self, timeout_s: float = 30.0) -> None:
        """Wait until every node says ``cluster_state:ok`` and agrees on the slot map.

        Raises:
            AssertionError: not within ``timeout_s`` seconds.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                admins = [self.admin(i) for i in range(len(self.nodes))]
                infos = [a.execute_command("CLUSTER", "INFO") for a in admins]
                slots = [sorted(map(repr, a.execute_command("CLUSTER", "SLOTS"))) for a in admins]
                ok = all(b"cluster_state:ok" in x for x in infos)
                if ok and all(s == slots[0] for s in slots):
                    return
            except redis.exceptions.ConnectionError:
                pass  # a node still starting
            assert time.monotonic() < deadline, "cluster did not become ok"
            time.sleep(0.1)


@contextlib.contextmanager
def start_cluster(masters: int = 3, root: Path | None = None, spare: int = 0) -> Iterator[Cluster]:
    """Start a fresh cluster of ``masters`` masters, slots split evenly in order; stop it and
    remove its files on exit.

    Args:
        masters: number of master nodes with slots (no replicas).
        root: folder of the nodes' homes; default ``<repo>/.userpulse/test/cluster-<random>``.
        spare: number of extra master nodes that join the cluster without any slot (nodes
            ``masters`` .. ``masters + spare - 1``), like a node just added before a reshard.

    Raises:
        userpulse.stack.process.StackError: a node did not start.
        AssertionError: the cluster did not reach ``cluster_state:ok`` within 30 s.
    """
    total = masters + spare
    ports = free_ports(2 * total)  # client ports, then cluster bus ports (the default,
    # port + 10000, may exceed 65535, so they are given explicitly)
    root = root or REPO_ROOT / ".userpulse" / "test" / f"cluster-{uuid.uuid4().hex[:8]}"
    nodes = [
        Settings(_env_file=None, home=root / f"n{i}", redis_port=ports[i], **PASSWORDS)  # type: ignore[call-arg, arg-type]
        for i in range(total)
    ]
    bus = ports[total:]
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
    cluster = Cluster(nodes, servers, bus)
    try:
        for srv in servers:
            srv.start()
        for i in range(masters):
            lo, hi = i * SLOTS // masters, (i + 1) * SLOTS // masters - 1
            cluster.admin(i).execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
        for i, s in enumerate(nodes[1:], start=1):
            cluster.admin(0).execute_command("CLUSTER", "MEET", "127.0.0.1", s.redis_port, bus[i])
        cluster.wait_ok()
        yield cluster
    finally:
        for srv in servers:
            srv.stop()
        shutil.rmtree(root, ignore_errors=True)


def cluster_job_settings(stack: Settings, cluster: Cluster, partitions: int = 1) -> Settings:
    """:func:`tests.integration.jobkit.job_settings` (fresh topics) of a job writing to
    ``cluster`` (entering through node 0, its ACL passwords)."""
    node = cluster.nodes[0]
    return job_settings(
        stack,
        partitions=partitions,
        redis_port=node.redis_port,
        redis_cluster=True,
        redis_job_password=node.redis_job_password,
        redis_lookup_password=node.redis_lookup_password,
        redis_admin_password=node.redis_admin_password,
    )


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[Cluster]:
    """A fresh 3-master :class:`Cluster` for the test module."""
    with start_cluster() as c:
        yield c
