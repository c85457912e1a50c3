"""Lookups on a Redis that restarted before the job noticed (issue 12; docs/key-layout.md,
"Store generation").

A Redis restarted from an older snapshot shows the snapshot's values, and their users' hashes
carry the current store generation: until the job's store watch notices the new ``run_id``
(within ``store_check_interval_ms``) and raises the marker, the per-user generation check sees
nothing wrong. A restart drops every connection, so the lookup client checks on each new
connection whether the server's ``run_id`` (``INFO server``) is the one the job recorded in
:data:`userpulse.layout.RUN_KEY` (the job writes it after raising the marker). While they differ,
every user with stored data reads ``rewriting``, and each lookup reads the recorded run id
again (one GET in its pipeline) until the job has written the new one; then the users'
generations decide, as before. With matching run ids a lookup costs nothing more.

Only for one server: on a Redis Cluster the job does not watch the store (docs/operations.md,
"What the system guarantees"), so neither does the lookup. No recorded run id (a store the job
has not checked yet, or a job older than the record) and an ``INFO`` the lookup user may not
run (``NOPERM``) switch the check off.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import ResponseError

from userpulse.layout import RUN_KEY


def _run_id(info: Any) -> str | None:
    """The ``run_id`` line of an ``INFO server`` reply (bytes or str), or None."""
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("run_id:"):
            return line[7:].strip()
    return None


def _text(reply: Any) -> str | None:
    return reply.decode() if isinstance(reply, bytes) else reply


class RunGuard:
    """The run-id check of one lookup client (sync or asyncio, one server).

    Pass :meth:`on_connect` (sync ``redis.Redis``) or :meth:`on_connect_async`
    (``redis.asyncio.Redis``) as the client's ``redis_connect_func``; around each lookup
    pipeline call :meth:`queue` and :meth:`stale_after`.

    Attributes:
        server_run_id: the ``run_id`` of the server of the newest connection (None: unknown or
            the check is off).
        recorded: the run id the job recorded, as last read (None: none recorded).
    """

    def __init__(self) -> None:
        self.server_run_id: str | None = None
        self.recorded: str | None = None
        self._off = False

    @property
    def stale(self) -> bool:
        """Whether the server restarted and the job has not recorded its run id yet."""
        return (
            not self._off
            and self.server_run_id is not None
            and self.recorded is not None
            and self.recorded != self.server_run_id
        )

    def _connected(self, info: Any, recorded: Any) -> None:
        self.server_run_id = _run_id(info)
        self.recorded = _text(recorded)

    def on_connect(self, connection: Any) -> None:
        """``redis_connect_func`` of a sync connection: the usual hand-shake (AUTH, ...), then
        ``INFO server`` and a GET of the recorded run id on the new connection.

        Raises:
            redis.exceptions.ConnectionError / TimeoutError: as a connection attempt does.
        """
        connection.on_connect()
        if self._off:
            return
        try:
            connection.send_command("INFO", "server")
            info = connection.read_response()
            connection.send_command("GET", RUN_KEY)
            self._connected(info, connection.read_response())
        except ResponseError:  # NOPERM: a lookup user without +info (a Redis we did not set up)
            self._off = True

    async def on_connect_async(self, connection: Any) -> None:
        """:meth:`on_connect` for a ``redis.asyncio`` connection."""
        await connection.on_connect()
        if self._off:
            return
        try:
            await connection.send_command("INFO", "server")
            info = await connection.read_response()
            await connection.send_command("GET", RUN_KEY)
            self._connected(info, await connection.read_response())
        except ResponseError:
            self._off = True

    def queue(self, pipe: Any) -> bool:
        """While :attr:`stale`, queue a GET of the recorded run id on the lookup's pipeline
        (last, after :func:`userpulse.lookup.merge.queue_generation`); returns whether it did."""
        if not self.stale:
            return False
        pipe.get(RUN_KEY)
        return True

    def stale_after(self, replies: list[Any], queued: bool) -> bool:
        """After the lookup's pipeline ran: take the reply of the GET :meth:`queue` added (the
        last of ``replies``, removed) when ``queued``; returns whether the server is newer
        than what the job recorded, so the lookup's users read ``rewriting``. Also true when
        the pipeline itself opened the connection that found it (nothing was queued then). An
        error reply keeps the old answer."""
        if queued:
            reply = replies.pop()
            if not isinstance(reply, Exception):
                self.recorded = _text(reply)
        return self.stale
