"""Fixtures of the integration tier: the real local stack, started by the project's own code.

The stack runs on free ports picked per session (the OS hands out unused ones) with its own home
under ``<repo>/.userpulse/test/``, so neither a running demo stack (19092/16379) nor another test
session on the same machine (shared build hosts) is used or disturbed. The home is removed after a
clean session; after a failed start it is kept for its logs.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests import REPO_ROOT
from userpulse import stack as stack_lib
from userpulse.settings import Settings


def _free_ports(n: int) -> list[int]:
    """``n`` distinct loopback TCP ports that are free right now (bound to port 0, then closed)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    """Settings of the test stack: per-session home, test ports, no settings file."""
    home = REPO_ROOT / ".userpulse" / "test" / f"session-{os.getpid()}"
    kafka_port, controller_port, redis_port = _free_ports(3)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]  # a developer's userpulse.env must not leak in
        home=home,
        kafka_port=kafka_port,
        kafka_controller_port=controller_port,
        redis_port=redis_port,
        bootstrap_servers=None,
    )


@pytest.fixture(scope="session")
def stack(stack_settings: Settings) -> Iterator[Settings]:
    """Start Kafka + Redis (``stack.up``) once per session; yield the Settings; stop them."""
    try:
        stack_lib.up(stack_settings)
    except stack_lib.StackError as e:
        pytest.fail(f"could not start the test stack: {e}")
    yield stack_settings
    stack_lib.down(stack_settings)
    shutil.rmtree(stack_settings.home, ignore_errors=True)


@pytest.fixture
def fresh_topic(stack: Settings) -> Iterator[Callable[[int], str]]:
    """Factory: ``fresh_topic(partitions)`` creates an empty uniquely named topic; returns the name.

    The topics are deleted when the test ends.
    """
    created: list[str] = []

    def make(partitions: int = 1) -> str:
        name = f"test.{uuid.uuid4().hex[:12]}"
        stack_lib.recreate_topic(stack, name, partitions)
        created.append(name)
        return name

    yield make
    stack_lib.delete_topics(stack, created)


@pytest.fixture(scope="module")
def registry(stack: Settings) -> Iterator[Settings]:
    """The stack plus the local schema registry (Apicurio, ``make registry``), started once per
    test module (~30 s) on free ports under the session's home; yields Settings with
    ``registry=True`` (so ``registry_url`` points at it); stopped at the module's end, so the
    stack's own status in later modules (default registry ports) does not see it."""
    http_port, management_port = _free_ports(2)
    s = stack.model_copy(
        update={
            "registry": True,
            "registry_port": http_port,
            "registry_management_port": management_port,
        }
    )
    server = stack_lib.RegistryServer(s)
    try:
        server.start()
    except stack_lib.StackError as e:
        pytest.fail(f"could not start the schema registry: {e}")
    yield s
    server.stop()
