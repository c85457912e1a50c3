"""A Redis Cluster primary that loses its data while the job runs (issue 12, the store rows on a
cluster): the job's store watch asks every primary for its ``run_id``, so a primary restarted
empty is noticed although its users get no new events and the generation marker lives on
another primary; the job raises the marker and rewrites every user it holds. Every user's 46
features are then compared with the reference, and no lookup shows a wrong value as
``present`` on the way. The control runs the same with ``store_loss_rewrite`` off: the users of
the restarted primary stay ``not_found`` (``make chaos``, ``USERPULSE_CHAOS=long``: a second job
start; ``make test`` has the one-server control in ``test_store_faults.py`` and the watch's own
on a cluster in ``ClusterTileWriterTest.java``).

The lookup side: a cluster lookup client checks each new connection's ``run_id`` against the
record of every primary the job wrote (``up:v1:run``): a primary restarted with its old data
(as from a snapshot) reads ``rewriting`` until the job records it; the control, a cluster client
without the check, shows the data as ``present``.

A 3-master cluster of :mod:`tests.integration.clusterkit` per job (an unbounded job each).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from subprocess import Popen

import pytest
from redis.crc import key_slot

from tests.integration.clusterkit import Cluster, cluster_job_settings, start_cluster
from tests.integration.jobkit import drop_topics, send_events, unbounded_job
from tests.integration.lookupkit import sample_events, write_events
from tests.integration.storekit import T0, Check, check, events_of, job_env, wait_exact, wait_for
from userpulse import redis_conn
from userpulse.events import Event
from userpulse.layout import GENERATION_KEY, RUN_KEY, run_record, user_key
from userpulse.lookup import FeatureClient, Status
from userpulse.lookup.aio import AsyncFeatureClient
from userpulse.lookup.errors import StoreUnavailable
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
USERS = [f"c{i}" for i in range(24)]
END = T0 + 60_000  # lookups as of the end of the stream's minute


@dataclass
class ClusterRun:
    """A running job writing to a cluster of its own, and what was sent to it."""

    cluster: Cluster
    s: Settings
    job: Popen[bytes]
    client: FeatureClient
    sent: list[Event] = field(default_factory=list)

    def check(self) -> Check:
        return check(self.client, self.sent, USERS, END)

    def meta(self, key: str) -> str:
        """The value of a store-wide key (the marker, the run-id record), read as admin."""
        return str(redis_conn.connect_cluster(self.s, "admin").get(key).decode())


@contextlib.contextmanager
def cluster_job(stack: Settings, repair: bool) -> Iterator[ClusterRun]:
    with start_cluster() as c:
        s = cluster_job_settings(stack, c, partitions=2)
        env = job_env(
            s,
            USERPULSE_REDIS_CLUSTER="true",
            USERPULSE_STORE_LOSS_REWRITE=str(repair).lower(),
            USERPULSE_STORE_CHECK_INTERVAL_MS="500",
        )
        try:
            with unbounded_job(s, **env) as job:
                yield ClusterRun(c, s, job, FeatureClient.from_settings(s))
        finally:
            drop_topics(s)


def _started(run: ClusterRun) -> ClusterRun:
    run.sent = events_of(USERS, T0 + 1_000, 4, 9_000, "base")
    send_events(run.s, run.sent)
    return run


@pytest.fixture(scope="module")
def run(stack: Settings) -> Iterator[ClusterRun]:
    """The repaired job on its cluster, the stream sent."""
    with cluster_job(stack, repair=True) as r:
        yield _started(r)


def _victim(c: Cluster) -> int:
    """A primary that holds users but neither the generation marker (whose loss the marker
    alone would show) nor the run-id record."""
    meta = {c.owner(key_slot(k.encode())) for k in (GENERATION_KEY, RUN_KEY)}
    held = {c.owner(key_slot(user_key(u).encode())) for u in USERS}
    return min(held - meta)


def _restart_empty(c: Cluster, i: int) -> None:
    """kill -9 of primary ``i``, its data files deleted (its ``nodes.conf`` kept: it comes back
    with its node id and slots), started; waits until the cluster is ok."""
    server = c.servers[i]
    pid = server.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: server.pid() is None, 10, 0.05)
    shutil.rmtree(server.dir / "appendonly", ignore_errors=True)
    (server.dir / "dump.rdb").unlink(missing_ok=True)
    server.start()
    c.wait_ok()


def _primary_run_ids(c: Cluster) -> list[str]:
    return [str(c.admin(i).info("server")["run_id"]) for i in range(len(c.nodes))]


def test_a_primary_restarted_empty_is_rewritten_in_full(run: ClusterRun) -> None:
    assert wait_exact(run.check, 150).exact  # the job starts meanwhile
    gen = int(run.meta(GENERATION_KEY))
    assert run.meta(RUN_KEY) == run_record(_primary_run_ids(run.cluster))
    victim = _victim(run.cluster)
    on_victim = [u for u in USERS if run.cluster.owner(key_slot(user_key(u).encode())) == victim]
    _restart_empty(run.cluster, victim)
    t0 = time.monotonic()

    c = wait_exact(run.check, 30, never_wrong=True)
    assert c.exact, (c, on_victim)
    print(
        f"primary {victim} restarted empty ({len(on_victim)} users): exact after "
        f"{time.monotonic() - t0:.2f} s"
    )
    assert int(run.meta(GENERATION_KEY)) > gen
    assert run.meta(RUN_KEY) == run_record(_primary_run_ids(run.cluster))
    assert run.job.poll() is None


@pytest.mark.skipif(
    os.environ.get("USERPULSE_CHAOS") != "long", reason="make chaos (USERPULSE_CHAOS=long)"
)
def test_control_without_the_rewrite_the_users_of_the_primary_stay_lost(stack: Settings) -> None:
    """The same fault with ``store_loss_rewrite`` off (a second job start: ``make chaos``)."""
    with cluster_job(stack, repair=False) as control:
        _started(control)
        assert wait_exact(control.check, 150).exact
        _restart_empty(control.cluster, _victim(control.cluster))
        c = wait_exact(control.check, 5)  # the repaired job is exact again within 1-2 s (above)
        assert not c.exact and c.not_present.get(Status.NOT_FOUND.value), c


def test_a_cluster_lookup_reads_rewriting_until_a_restarted_primary_is_recorded() -> None:
    """No job: the test writes the users and the record itself (what the job's store watch
    does), restarts a primary with its data (SIGTERM: the append-only file is flushed; a new
    ``run_id``, as after a restart from a snapshot), and reads through a cluster client."""
    with start_cluster() as c:
        s = c.nodes[0].model_copy(update={"redis_cluster": True})
        write_events(s, [e for u in USERS for e in sample_events(u)])
        admin = redis_conn.connect_cluster(s, "admin")
        admin.set(RUN_KEY, run_record(_primary_run_ids(c)))
        guarded = FeatureClient.from_settings(s)
        control = FeatureClient(redis_conn.connect_cluster(s, "lookup"))  # no run-id check
        assert _statuses(guarded) == {Status.PRESENT}
        c.servers[_victim(c)].stop()
        c.servers[_victim(c)].start()
        c.wait_ok()
        assert _statuses(guarded) == {Status.REWRITING}
        assert _statuses(guarded) == {Status.REWRITING}  # each lookup asks again: still old
        assert _statuses(control) == {Status.PRESENT}  # the control: the data as present
        admin.set(RUN_KEY, run_record(_primary_run_ids(c)))  # the job noticed
        assert _statuses(guarded) == {Status.PRESENT}
        got = guarded.get(USERS[0], ["count_click_1m"], as_of=T0 + 9_999)["count_click_1m"]
        assert got.value == 3
        # the asyncio cluster client (the HTTP service's) likewise, against its control
        assert asyncio.run(_async_statuses(s, restart=(c, _victim(c)))) == (
            {Status.PRESENT},
            {Status.REWRITING},
            {Status.PRESENT},
        )
        admin.set(RUN_KEY, run_record(_primary_run_ids(c)))
        assert asyncio.run(_async_statuses(s, restart=None)) == ({Status.PRESENT},) * 3


async def _async_statuses(
    s: Settings, restart: tuple[Cluster, int] | None
) -> tuple[set[Status], ...]:
    """Statuses read by a new asyncio cluster client before ``restart`` (a primary restarted
    with its data), after it, and by a client without the run-id check after it."""
    guarded = AsyncFeatureClient.from_settings(s)
    control = AsyncFeatureClient(redis_conn.connect_async_cluster(s, "lookup"))
    try:
        before = await _astatuses(guarded)
        if restart is not None:
            cluster, victim = restart
            cluster.servers[victim].stop()
            cluster.servers[victim].start()
            cluster.wait_ok()
        return before, await _after_restart(guarded), await _after_restart(control)
    finally:
        await guarded.aclose()
        await control.aclose()


async def _after_restart(client: AsyncFeatureClient) -> set[Status]:
    """:func:`_astatuses` once the client reads again: a pooled connection to the restarted
    node fails its first lookup (StoreUnavailable, a 503 of the HTTP service), then the
    asyncio cluster client reconnects."""
    for _ in range(20):
        try:
            return await _astatuses(client)
        except StoreUnavailable:
            await asyncio.sleep(0.25)
    return await _astatuses(client)


async def _astatuses(client: AsyncFeatureClient) -> set[Status]:
    got = await client.get_many(USERS, ["count_click_1m"], as_of=T0 + 9_999)
    return {r["count_click_1m"].status for r in got.values()}


def _statuses(client: FeatureClient) -> set[Status]:
    got = client.get_many(USERS, ["count_click_1m"], as_of=T0 + 9_999)
    return {r["count_click_1m"].status for r in got.values()}
