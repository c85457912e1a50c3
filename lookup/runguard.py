"""Lookups on a Redis that restarted before the job noticed (issue 12; docs/key-layout.md,
"Store generation").

A Redis restarted from an older snapshot shows the snapshot's values, and their users' hashes
carry the current store generation: until the job's store watch notices the new ``run_id``
(within ``store_check_interval_ms``) and raises the marker, the per-user generation check sees
nothing wrong. A restart drops every connection, so the lookup client checks on each new
connection whether the server's ``run_id`` (``INFO server``) is one the job recorded in
:data:`userpulse.layout.RUN_KEY` (the job writes it after raising the marker: one server's
``run_id``, or on a Redis Cluster the ``run_id`` of every primary, :func:`userpulse.layout.
run_record`). While a server the client is connected to is not recorded, every user with stored
data reads ``rewriting``, and each lookup reads the record again (one GET in its pipeline) until
the job has written the new one; then the users' generations decide, as before. With every
server recorded a lookup costs nothing more.

- One server: each new connection reads ``INFO server`` and the record itself
  (:meth:`RunGuard.on_connect`, :meth:`RunGuard.on_connect_async`).
- Redis Cluster (:meth:`RunGuard.on_cluster_connect`, :meth:`RunGuard.on_cluster_connect_async`):
  a new connection to a node reads its ``INFO server`` only (the record may live on another
  node); the record is read through the lookup's pipeline, on the first lookup and after a new
  connection found a ``run_id`` not in it.

No recorded run id (a store the job has not checked yet, or a job older than the record) and
an ``INFO`` the lookup user may not run (``NOPERM``) switch the check off.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import ResponseError

from userpulse.layout import RUN_KEY, recorded_run_ids


def _run_id(info: Any) -> str | None:
    """The ``run_id`` line of an ``INFO server`` reply (bytes or str), or None."""
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("run_id:"):
            return line[7:].strip()
    return None


def _text(reply: Any) -> str | None:
    return reply.decode() if isinstance(reply, bytes) else reply


def _where(connection: Any) -> str:
    """``host:port`` (or the socket path) a redis-py connection is made to."""
    path = getattr(connection, "path", None)
    return str(path) if path else f"{connection.host}:{connection.port}"


class RunGuard:
    """The run-id check of one lookup client (sync or asyncio, one server or a sync cluster).

    Pass :meth:`on_connect` (sync ``redis.Redis``), :meth:`on_connect_async`
    (``redis.asyncio.Redis``) or :meth:`on_cluster_connect` (sync ``RedisCluster``, with
    ``cluster=True``) as the client's ``redis_connect_func``; around each lookup pipeline call
    :meth:`queue` and :meth:`stale_after`.

    Args:
        cluster: the client is a Redis Cluster client (the record is read through the lookup
            pipeline, not on each new connection).

    Attributes:
        servers: ``host:port`` -> the ``run_id`` of the newest connection there.
        recorded: the run ids the job recorded, as last read (empty: none recorded; None: not
            read yet).
    """

    def __init__(self, cluster: bool = False) -> None:
        self.cluster = cluster
        self.servers: dict[str, str] = {}
        self.recorded: frozenset[str] | None = None
        self._off = False
        self._unread = cluster

    @property
    def stale(self) -> bool:
        """Whether a server the client connected to restarted (or replaced a primary) and the
        job has not recorded its run id yet."""
        recorded = self.recorded
        if self._off or not recorded:
            return False
        return any(r not in recorded for r in self.servers.values())

    def _connected(self, connection: Any, info: Any) -> None:
        rid = _run_id(info)
        if rid is not None:
            self.servers[_where(connection)] = rid
            if self.recorded is not None and rid not in self.recorded:
                self._unread = self.cluster  # a cluster reads the record at the next lookup

    def _record(self, reply: Any) -> None:
        """Take a read of :data:`RUN_KEY`. Servers whose run id was recorded before and is not
        now are gone (a primary replaced): they are forgotten."""
        new = recorded_run_ids(_text(reply))
        old = self.recorded
        if old is not None and new != old:
            self.servers = {w: r for w, r in self.servers.items() if r in new or r not in old}
        self.recorded = new
        self._unread = False

    def on_connect(self, connection: Any) -> None:
        """``redis_connect_func`` of a sync connection to one server: the usual hand-shake
        (AUTH, ...), then ``INFO server`` and a GET of the record on the new connection.

        Raises:
            redis.exceptions.ConnectionError / TimeoutError: as a connection attempt does.
        """
        connection.on_connect()
        if self._off:
            return
        try:
            connection.send_command("INFO", "server")
            self._connected(connection, connection.read_response())
            connection.send_command("GET", RUN_KEY)
            self._record(connection.read_response())
        except ResponseError:  # NOPERM: a lookup user without +info (a Redis we did not set up)
            self._off = True

    def on_cluster_connect(self, connection: Any) -> None:
        """``redis_connect_func`` of a sync ``RedisCluster`` (it runs after the cluster's own
        hand-shake): ``INFO server`` on the new connection to a node.

        Raises:
            redis.exceptions.ConnectionError / TimeoutError: as a connection attempt does.
        """
        if self._off:
            return
        try:
            connection.send_command("INFO", "server")
            self._connected(connection, connection.read_response())
        except ResponseError:
            self._off = True

    async def on_cluster_connect_async(self, connection: Any) -> None:
        """:meth:`on_cluster_connect` for a ``redis.asyncio.RedisCluster`` connection (given
        through :func:`userpulse.redis_conn.connect_async_cluster`): the usual hand-shake, then
        ``INFO server``."""
        await self._connect_async(connection, read_record=False)

    async def on_connect_async(self, connection: Any) -> None:
        """:meth:`on_connect` for a ``redis.asyncio`` connection."""
        await self._connect_async(connection, read_record=True)

    async def _connect_async(self, connection: Any, read_record: bool) -> None:
        await connection.on_connect()
        if self._off:
            return
        try:
            await connection.send_command("INFO", "server")
            self._connected(connection, await connection.read_response())
            if read_record:
                await connection.send_command("GET", RUN_KEY)
                self._record(await connection.read_response())
        except ResponseError:
            self._off = True

    def queue(self, pipe: Any) -> bool:
        """While :attr:`stale` (or, on a cluster, while the record is to be read), queue a GET of
        the record on the lookup's pipeline (last, after
        :func:`userpulse.lookup.merge.queue_generation`); returns whether it did."""
        if self._off or not (self.stale or self._unread):
            return False
        pipe.get(RUN_KEY)
        return True

    def stale_after(self, replies: list[Any], queued: bool) -> bool:
        """After the lookup's pipeline ran: take the reply of the GET :meth:`queue` added (the
        last of ``replies``, removed) when ``queued``; returns whether a server is newer than
        what the job recorded, so the lookup's users read ``rewriting``. Also true when the
        pipeline itself opened the connection that found it (nothing was queued then). An
        error reply keeps the old answer."""
        if queued:
            reply = replies.pop()
            if not isinstance(reply, Exception):
                self._record(reply)
        return self.stale
