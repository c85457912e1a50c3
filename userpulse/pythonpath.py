"""``PYTHONPATH`` for interpreters that do not know this virtual environment (PyFlink's
thread mode embeds CPython in the JVM through pemja, in the job's client and in TaskManagers)."""

from __future__ import annotations

import os
import site
from pathlib import Path


def worker_python_path() -> str:
    """The folder ``userpulse`` is imported from (site-packages for a normal install, the
    checkout for an editable one), then this venv's site-packages, ``os.pathsep``-joined; found
    through the package itself, not through a checkout's location."""
    import userpulse

    parts = [str(Path(userpulse.__file__).resolve().parent.parent), *site.getsitepackages()]
    return os.pathsep.join(dict.fromkeys(parts))
