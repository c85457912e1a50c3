"""infra/prereqs.sh: the OS prerequisites of `make demo` / `make test`, checked before any download.

Run with a PATH of symlinks to this machine's real tools, leaving some out; installing is
switched off (USERPULSE_PREREQS_INSTALL=0), so nothing is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "infra" / "prereqs.sh"
TOOLS = ("java", "javac", "mvn", "redis-server", "redis-benchmark", "openssl", "make", "apt-get")
BASH = shutil.which("bash") or "/bin/bash"


def _path_dir(tmp_path: Path, leave_out: set[str]) -> Path:
    """A directory of symlinks to the real tools (and a real python3), without ``leave_out``."""
    d = tmp_path / "bin"
    d.mkdir()
    for t in TOOLS:
        exe = shutil.which(t)
        if exe is None:
            pytest.skip(f"{t} is not installed on this machine")
        if t not in leave_out:
            (d / t).symlink_to(exe)
    if "python3" not in leave_out:  # the interpreter behind this venv (has venv + ensurepip)
        (d / "python3").symlink_to(os.path.realpath(sys.executable))
    return d


def _run(path_dir: Path, target: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {"PATH": str(path_dir), "USERPULSE_PREREQS_INSTALL": "0", "HOME": os.environ["HOME"]}
    t0 = time.monotonic()
    done = subprocess.run(
        [BASH, str(SCRIPT), target], env=env, capture_output=True, text=True, timeout=30
    )
    return done, time.monotonic() - t0


def test_all_present_passes_quietly(tmp_path: Path) -> None:
    done, _ = _run(_path_dir(tmp_path, set()), "test")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_missing_redis_server_is_one_line_with_the_command(tmp_path: Path) -> None:
    done, took_s = _run(_path_dir(tmp_path, {"redis-server"}), "demo")
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["missing: redis-server -> apt-get install -y redis-server"]
    assert done.stdout == ""  # nothing installed, nothing downloaded
    assert took_s < 3.0  # about 0.1 s of CPU; generous for a loaded machine


def test_one_line_per_missing_tool(tmp_path: Path) -> None:
    done, _ = _run(_path_dir(tmp_path, {"redis-server", "mvn", "openssl"}), "test")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "missing: mvn -> apt-get install -y maven",
        "missing: redis-server -> apt-get install -y redis-server",
        "missing: openssl -> apt-get install -y openssl",
    ]


def test_without_apt_the_line_says_where_to_get_it(tmp_path: Path) -> None:
    done, _ = _run(_path_dir(tmp_path, {"apt-get", "java"}), "demo")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "missing: java 17+ (JDK) -> install a JDK 17+ (https://adoptium.net) and put java, "
        "javac on PATH"
    ]


def test_python_out_of_range_names_the_version(tmp_path: Path) -> None:
    d = _path_dir(tmp_path, {"python3"})
    fake = d / "python3"  # a Python 3.9 as far as the check can tell
    fake.write_text('#!/bin/bash\necho "3.9 ok"\n')
    fake.chmod(0o755)
    done, _ = _run(d, "demo")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("missing: python >= 3.10, < 3.13 (found 3.9 at ")
    assert line.endswith(
        "-> install Python >= 3.10, < 3.13, then: make PYTHON=/path/to/python3.X ..."
    )
