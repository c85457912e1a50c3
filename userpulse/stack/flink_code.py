"""Keeping the local session cluster's TaskManagers on the checkout's current Python code.

In thread mode a TaskManager embeds one Python interpreter for its whole life, and every job it
runs shares it: modules imported by an earlier job stay imported (measured: the job workers'
metric counters keep counting across jobs). A job resumed after a code change would silently
run the old code. So ``cluster up`` records a fingerprint of the job's Python sources when it
starts the TaskManagers, and every submit to the local cluster (:func:`ensure_current_code`)
restarts them first when the sources changed since.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import httpx

from userpulse.stack.flink import FlinkCluster
from userpulse.stack.process import StackError

# the packages the workers import (the job's and the backfill's Python and what they import)
CODE_PACKAGES = ("userpulse", "userpulse.jobs", "userpulse.sinks", "userpulse.schemas")


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise StackError(f"package {name} not found")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def code_fingerprint() -> str:
    """SHA-256 (hex) over the paths (relative to each package, prefixed with its dotted name)
    and bytes of the ``*.py`` / ``*.avsc`` files of :data:`CODE_PACKAGES`, in path order; the
    folders are found through the import system (installed or editable alike)."""
    h = hashlib.sha256()
    for name in CODE_PACKAGES:
        root = _package_dir(name)
        for f in sorted(root.rglob("*")):
            if f.suffix in (".py", ".avsc") and f.is_file():
                h.update(f"{name}:{f.relative_to(root).as_posix()}".encode() + b"\0")
                h.update(f.read_bytes())
    return h.hexdigest()


def _stamp(cluster: FlinkCluster) -> Path:
    return cluster.root / "taskmanagers.code"


def record_code(cluster: FlinkCluster) -> None:
    """Note the sources' fingerprint as the code of the TaskManagers being started."""
    _stamp(cluster).parent.mkdir(parents=True, exist_ok=True)
    _stamp(cluster).write_text(code_fingerprint() + "\n")


def ensure_current_code(cluster: FlinkCluster) -> bool:
    """Restart the TaskManagers when the job's sources changed since they started; returns
    whether they were restarted.

    Raises:
        StackError: the sources changed but a job still runs on the cluster (stop it with a
            savepoint first: ``userpulse job stop``), or the restart failed.
    """
    stamp = _stamp(cluster)
    current = code_fingerprint()
    if stamp.exists() and stamp.read_text().strip() == current:
        return False
    try:
        running = httpx.get(f"{cluster.rest_url}/overview", timeout=5.0).json()["jobs-running"]
    except (httpx.HTTPError, ValueError, KeyError) as e:
        raise StackError(f"cannot reach the local cluster at {cluster.rest_url}: {e}") from e
    if running:
        raise StackError(
            f"the job's Python code changed since the TaskManagers started, and {running} job(s) "
            "still run on them: stop with a savepoint first (`userpulse job stop`), then submit "
            "or resume"
        )
    cluster.restart_taskmanagers()
    return True
