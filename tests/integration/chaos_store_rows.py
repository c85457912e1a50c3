"""Rows 6 and 7 of the fault matrix (issue 12): the store loses data (restarted empty, from an
older snapshot, one user's keys evicted) or refuses it (a key of the wrong type, out of memory,
hung behind the HTTP service), and the two helpers every row uses (:func:`scaled_s`,
:func:`stopped`). Each is an ``inject(drill, figures)`` of a
:class:`tests.integration.chaos_rows.Row`; :data:`tests.integration.chaos_rows.ROWS` lists them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterator

from tests.integration.chaos_traffic import HOT_USER
from tests.integration.chaoskit import Drill, Figures
from tests.integration.jobkit import read_topic
from tests.integration.lookupkit import password_env
from tests.integration.servicekit import Service
from tests.integration.storekit import wait_for
from userpulse import redis_conn
from userpulse.layout import profile_key, user_key
from userpulse.lookup import Status
from userpulse.stack.redis_server import RedisServer


def scaled_s(drill: Drill, full_s: float) -> float:
    """A row's duration ``full_s`` (s, the issue's figure) scaled by the drill's form, >= 1 s."""
    return max(1.0, full_s * drill.form.scale)


@contextlib.contextmanager
def stopped(pid: int | None) -> Iterator[None]:
    """The process ``pid`` stopped (SIGSTOP) inside the block, continued (SIGCONT) after it."""
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


# --- row 6: the store loses data --------------------------------------------------------------
def _kill_redis(drill: Drill) -> RedisServer:
    """kill -9 of the stack's Redis (a crash); returns it, not yet started again."""
    server = RedisServer(drill.s)
    pid = server.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: server.pid() is None, 10, 0.05)
    return server


def _restored(drill: Drill, fig: Figures, users: list[str], t0: float) -> None:
    """Record the first write and ``restored_s``: seconds from ``t0`` until every one of
    ``users`` reads ``present`` again (the job rewrote them; meanwhile they read ``rewriting``
    or ``not_found``, never a wrong value as ``present``, which the drill's comparison and
    tests/integration/test_store_faults.py check)."""
    fig.first_write_s = drill.first_write_s()
    seen: Counter[str] = Counter()

    def all_present() -> bool:
        st = drill.statuses(users)
        seen.update(k for k in st if k != Status.PRESENT.value)
        return st[Status.PRESENT.value] == len(users)

    wait_for(all_present, 60, 0.1)
    drill.too_slow(fig, "restored_s", time.monotonic() - t0, 60)
    fig.extra["statuses_seen"] = " ".join(sorted(seen)) or "present"


def redis_restarted_empty(drill: Drill, fig: Figures) -> None:
    """kill -9 of Redis, its append-only file deleted, started empty (the data lost: a new
    disk, ``FLUSHALL``, a failover to an empty replica). The job notices the new run id and
    rewrites every user it holds (case H22)."""
    users = drill.users()
    server = _kill_redis(drill)
    shutil.rmtree(server.dir / "appendonly", ignore_errors=True)
    (server.dir / "dump.rdb").unlink(missing_ok=True)
    server.start()
    _restored(drill, fig, users, time.monotonic())


def redis_restarted_from_older_snapshot(drill: Drill, fig: Figures) -> None:
    """Redis's append-only files copied (the backup), 5 s more of the stream, kill -9, the
    copy put back, started: the last 5 s of writes are gone and the old values are back. The
    job notices the new run id and rewrites every user."""
    server = RedisServer(drill.s)
    backup = server.dir.parent / "redis-backup"
    shutil.rmtree(backup, ignore_errors=True)
    shutil.copytree(server.dir / "appendonly", backup)
    time.sleep(scaled_s(drill, 5))
    users = drill.users()
    _kill_redis(drill)
    shutil.rmtree(server.dir / "appendonly")
    shutil.move(backup, server.dir / "appendonly")
    server.start()
    _restored(drill, fig, users, time.monotonic())


@contextlib.contextmanager
def _busy(drill: Drill, user: str, share: float = 0.1) -> Iterator[None]:
    """``share`` of the stream re-keyed to ``user`` inside the block (so it gets events)."""
    drill.streamer.hot_user, drill.streamer.hot_share = user, share
    try:
        yield
    finally:
        drill.streamer.hot_share = 0.0
        drill.streamer.hot_user = HOT_USER


def _victim(drill: Drill) -> str:
    """The synthetic user with the most events so far."""
    return Counter(e.user_id for e in drill.streamer.sent if e.user_id != HOT_USER).most_common(1)[
        0
    ][0]


def user_evicted(drill: Drill, fig: Figures) -> None:
    """Both keys of one user deleted (evicted) while the job holds its state; its next event
    finds them missing (the write script answers -1) and the job rewrites it in full."""
    user = _victim(drill)
    admin = redis_conn.connect(drill.s, "admin")
    t0 = time.monotonic()
    with _busy(drill, user):
        admin.delete(user_key(user), profile_key(user))
        _restored(drill, fig, [user], t0)


# --- row 7: the store refuses a key, is full, hangs behind the HTTP service -------------------
def key_refused(drill: Drill, fig: Figures) -> None:
    """One user's profile key holds a hash where a string belongs (case H20): Redis refuses the
    job's write for that user. Checks: one dead-letter record (``store_error``) naming user and
    key, lookups of the user answer ``store_error`` naming the key, the job goes on (the other
    users stay exact: the drill's comparison); the key removed, the user's next event rewrites
    it in full."""
    user = _victim(drill)
    key = profile_key(user)
    admin = redis_conn.connect(drill.s, "admin")
    with _busy(drill, user):
        admin.delete(key)
        admin.hset(key, "x", "a hash where a string belongs")
        t0 = time.monotonic()

        def reported() -> list[dict[str, object]]:
            dead = read_topic(drill.s, drill.s.dead_letter_topic, 2)
            return [d for d in dead if d.get("error_class") == "store_error"]

        dead = wait_for(reported, 30, 0.5)
        fig.extra["reported_s"] = time.monotonic() - t0
        # a refused write names the user's hash key and its profile key; a refused read the key
        named = [(d["user_id"], key in (d["key"], d.get("profile_key"))) for d in dead]
        if named != [(user, True)]:
            fig.problems.append(f"store-error dead letters {dead}, not one for {user}, {key}")
        got = drill.client.get(user, ["count_click_lifetime"])["count_click_lifetime"]
        if got.status is not Status.STORE_ERROR or key not in (got.error or ""):
            fig.problems.append(f"lookup of {user}: {got}, not store_error naming {key}")
        if drill.job_state() != "RUNNING":
            fig.problems.append(f"job {drill.job_state()} after a refused key")
        admin.delete(key)  # the operator repairs the key
        _restored(drill, fig, [user], time.monotonic())


def out_of_memory(drill: Drill, fig: Figures) -> None:
    """Redis at ``maxmemory`` with ``noeviction`` for 25 s (case H21): every write is refused
    with OOM, the job backs off and retries (it does not fail); then memory is freed. Checks:
    no write lands while it lasts, the job stays RUNNING, and writes resume."""
    admin = redis_conn.connect(drill.s, "admin")
    old = admin.config_get("maxmemory-policy")["maxmemory-policy"]
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", "1")
    try:
        time.sleep(1.0)  # a flush under way when it began may still land
        before = drill.counted()
        time.sleep(scaled_s(drill, 25))
        fig.extra["written_while_full"] = drill.counted() - before
        if fig.extra["written_while_full"]:
            fig.problems.append("writes landed although Redis was out of memory")
        if drill.job_state() != "RUNNING":
            fig.problems.append(f"job {drill.job_state()} while Redis was out of memory")
    finally:
        admin.config_set("maxmemory", "0")
        admin.config_set("maxmemory-policy", old)
    fig.first_write_s = drill.first_write_s()


def service_with_redis_hung(drill: Drill, fig: Figures) -> None:
    """The HTTP service in front of the store while Redis hangs (SIGSTOP) 10 s: ``/readyz`` and
    a lookup answer 503 within 1 s (the request deadline, tests/integration/
    test_lookup_deadline.py); after SIGCONT a lookup answers 200 within 1 s."""
    log = drill.s.home / "chaos-service.log"
    svc = Service(drill.s, log, env=password_env(drill.s))
    path = "/v1/users/hot-user/features?features=count_click_lifetime"

    def timed(p: str) -> tuple[int, float]:
        t0 = time.monotonic()
        status = svc.get(p)[0]
        return status, time.monotonic() - t0

    try:
        timed(path)  # warm: a pooled connection
        with stopped(RedisServer(drill.s).pid()):
            time.sleep(scaled_s(drill, 10) / 2)
            (ready, fig.extra["readyz_hung_s"]), (look, fig.extra["lookup_hung_s"]) = (
                timed("/readyz"),
                timed(path),
            )
            time.sleep(scaled_s(drill, 10) / 2)
        status, fig.extra["lookup_after_s"] = timed(path)
        if (ready, look, status) != (503, 503, 200):
            fig.problems.append(f"readyz {ready}, lookup {look} while hung; then {status}")
        for what in ("readyz_hung_s", "lookup_hung_s", "lookup_after_s"):
            if fig.extra[what] > 1.0:
                fig.problems.append(f"{what} {fig.extra[what]:.2f} s (> 1 s)")
    finally:
        svc.stop()
    fig.first_write_s = drill.first_write_s()
