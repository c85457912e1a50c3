"""Checks of the whole collection (unit and integration tests alike)."""

from __future__ import annotations

from collections import Counter

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse a collection in which two items share a node id: pytest-xdist (``make test``)
    keeps one item per id and silently drops the others (schemathesis's ``parametrize()`` gave
    its six operations one id, so five were never run).

    Raises:
        pytest.UsageError: names the repeated ids.
    """
    repeated = [i for i, n in Counter(item.nodeid for item in session.items).items() if n > 1]
    if repeated:
        raise pytest.UsageError(f"tests collected more than once under one node id: {repeated}")
