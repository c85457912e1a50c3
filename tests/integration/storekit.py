"""Helpers of the store-fault tests (issue 12: cases H20, H21, H22): a Redis of the test's own
that can be restarted empty or from an older snapshot, a small known stream, and the comparison
of every user's features with the reference that counts what is not ``present`` as wrong."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from tests import REPO_ROOT
from tests.integration.clusterkit import free_ports
from tests.integration.lookupkit import PASSWORDS
from userpulse import redis_conn
from userpulse.compare import same
from userpulse.events import Event, EventType
from userpulse.features import FEATURE_NAMES
from userpulse.lookup import FeatureClient, Status
from userpulse.reference import Reference
from userpulse.settings import Settings
from userpulse.stack.redis_server import RedisServer

T0 = 1717243200000  # 2024-06-01T12:00:00Z, as the shared cases


class OwnRedis:
    """A ``redis-server`` of the test's own (the project's :class:`RedisServer`, ACL users,
    ``--save ""``: nothing is persisted unless the test asks for ``SAVE``).

    Attributes:
        settings: the stack's settings (its Kafka, home and checkpoints) with this Redis's port
            and the passwords :data:`tests.integration.lookupkit.PASSWORDS`.
        server: the process, with its own home.
    """

    def __init__(self, settings: Settings, server: RedisServer) -> None:
        self.settings = settings
        self.server = server

    def admin(self) -> Any:
        """An admin client (redis-py)."""
        return redis_conn.connect(self.settings, "admin")

    def kill_and_start(self) -> None:
        """SIGKILL (a crash: nothing saved) and start again; the server loads ``dump.rdb`` if a
        ``SAVE`` wrote one (an older snapshot), else it starts empty."""
        pid = self.server.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: self.server.pid() is None, 10, 0.05)
        self.server.start()


@contextlib.contextmanager
def own_redis(stack: Settings) -> Iterator[OwnRedis]:
    """An :class:`OwnRedis` on a free port, without an append-only file (a crash loses what no
    ``SAVE`` snapshotted), stopped and removed on exit."""
    home = REPO_ROOT / ".userpulse" / "test" / f"redis-{uuid.uuid4().hex[:8]}"
    secrets = {k: SecretStr(v) for k, v in PASSWORDS.items()}
    s = stack.model_copy(update={"redis_port": free_ports(1)[0], **secrets})
    # no append-only file (the stack's default since issue 12): the cases model a store that
    # loses its data, so a kill -9 must lose everything a SAVE did not snapshot
    no_aof = ("--appendonly", "no")
    r = OwnRedis(s, RedisServer(s.model_copy(update={"home": home}), extra_args=no_aof))
    try:
        r.server.start()
        yield r
    finally:
        r.server.stop()
        shutil.rmtree(home, ignore_errors=True)


def job_env(s: Settings, **extra: str) -> dict[str, str]:
    """Environment of a ``userpulse job run`` on ``s``'s own Redis (credentials included)."""
    env = {
        f"USERPULSE_REDIS_{role.upper()}_PASSWORD": getattr(
            s, f"redis_{role}_password"
        ).get_secret_value()
        for role in ("job", "lookup", "admin")
    }
    return {**env, **extra}


def events_of(users: list[str], t0: int, n: int, step_ms: int, tag: str) -> list[Event]:
    """``n`` events per user, ``step_ms`` apart from ``t0`` (clicks, hovers, scrolls in turn),
    so every user has tiles of every size and several 1 s / 5 s tiles."""
    kinds = [EventType.CLICK, EventType.HOVER, EventType.SCROLL]
    out = []
    for i in range(n):
        for j, u in enumerate(users):
            et = kinds[(i + j) % 3]
            out.append(
                Event(
                    event_id=f"{tag}-{u}-{i}",
                    event_type=et,
                    user_id=u,
                    event_time_ms=t0 + i * step_ms + j,
                    session_id="s",
                    item_id=f"i{(i * 7 + j) % 11}",
                    dwell_ms=100 + 13 * i if et is EventType.HOVER else None,
                    scroll_depth=0.1 * (i % 10) if et is EventType.SCROLL else None,
                )
            )
    return out


@dataclass
class Check:
    """A comparison of every feature of some users with the reference, as of one time."""

    compared: int = 0
    wrong_present: list[tuple[Any, ...]] = field(default_factory=list)
    not_present: dict[str, int] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        """Every feature present and equal to the reference."""
        return not self.wrong_present and not self.not_present


def check(client: FeatureClient, events: list[Event], users: list[str], as_of: int) -> Check:
    """Every feature of ``users`` as of ``as_of`` against the reference over ``events``."""
    ref = Reference(events)
    out = Check()
    got = client.get_many(users, as_of=as_of)
    for u in users:
        want = ref.features(u, as_of)
        for name in FEATURE_NAMES:
            r = got[u][name]
            if r.status is not Status.PRESENT:
                out.not_present[r.status.value] = out.not_present.get(r.status.value, 0) + 1
                continue
            out.compared += 1
            if not same(name, r.value, want[name]):
                out.wrong_present.append((u, name, r.value, want[name]))
    return out


def wait_exact(
    check_now: Callable[[], Check], timeout_s: float, never_wrong: bool = False
) -> Check:
    """Poll ``check_now`` until every feature is exact (that check is returned) or ``timeout_s``
    passed (a last check is returned). ``never_wrong``: poll every 0.1 s and assert meanwhile
    that no ``present`` value is wrong (users not yet rewritten say not_found or rewriting)."""

    def poll() -> Check | None:
        c = check_now()
        if never_wrong:
            assert not c.wrong_present, c.wrong_present[:5]
        return c if c.exact else None

    return wait_for(poll, timeout_s, 0.1 if never_wrong else 0.25) or check_now()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from ``/proc``; Linux), parents first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    """The process ``pid`` and its descendants (the job's JVM) stopped with SIGSTOP inside the
    block, continued after it: the job cannot notice anything meanwhile."""
    tree = process_tree(pid)
    for p in tree:
        os.kill(p, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in reversed(tree):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGCONT)


def wait_for(cond: Callable[[], Any], timeout_s: float, every_s: float = 0.25) -> Any:
    """Poll ``cond`` until it returns something true (returned) or ``timeout_s`` passed (the
    last value is returned)."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = cond()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(every_s)


def metric(port: int, sample: str) -> float:
    """The value of one sample (``name{labels}`` as exposed) of the job's endpoint, 0 if absent."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return 0.0
