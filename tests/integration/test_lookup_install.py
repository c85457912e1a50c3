"""A real `pip install` of the base distribution into a new venv pulls no job dependency, and the
lookup client and CLI work there (issue 5). Needs PyPI (or a warm pip cache); ~10-30 s."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tests import REPO_ROOT

pytestmark = pytest.mark.integration


def _run(
    *argv: str | Path, timeout: float = 240, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    # A job run earlier in this pytest process sets PYTHONPATH to our venv's site-packages
    # (PyFlink thread mode needs it, jobs/runtime.py); the fresh venv must not see them.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        cwd=cwd,
    )


# the one installed namespace (issue 14): no top-level `lookup`, `schemas`, ... next to `userpulse`,
# and the data files (the .avsc schemas, current and released) installed with it
_INSTALLED_CHECK = """
import importlib.metadata as md
import userpulse.lookup.aio
from userpulse.lookup import FeatureClient
from importlib.resources import files as package_files
assert 'site-packages/userpulse/lookup' in userpulse.lookup.__file__
schemas = package_files('userpulse.schemas')
assert (schemas / 'event.avsc').is_file() and (schemas / 'released' / '1' / 'event.avsc').is_file()
assert (package_files('userpulse.jobs') / 'entry.py').is_file()
files = md.distribution('userpulse').files
print('ok', sorted({f.parts[0] for f in files if f.suffix == '.py'}))
"""


def test_base_install_has_no_flink_and_serves_lookups(tmp_path: Path) -> None:
    # build from a copy of the sources, so that no build/ or egg-info lands in the checkout
    src = tmp_path / "src"
    src.mkdir()
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / f, src / f)
    setup = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    tops = {p.split(".")[0] for p in setup["packages"]} | set(setup["package-dir"].values())
    for top in tops:
        shutil.copytree(
            REPO_ROOT / top, src / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    py = venv / "bin" / "python"
    done = _run(py, "-m", "pip", "install", "-q", "--disable-pip-version-check", src)
    assert done.returncode == 0, done.stderr[-3000:]
    listed = _run(py, "-m", "pip", "list", "--format=freeze").stdout.lower()
    names = {line.split("==")[0] for line in listed.splitlines()}
    assert "redis" in names and "userpulse" in names
    assert not names & {"apache-flink", "apache-beam", "confluent-kafka", "fastavro", "pyarrow"}
    assert not names & {"fastapi", "uvicorn"}  # the service is an extra
    # from a directory without the sources: the installed package, not the checkout
    ok = _run(py, "-c", _INSTALLED_CHECK, cwd=tmp_path)
    assert ok.stdout.strip() == "ok ['userpulse']", ok.stderr
    help_ = _run(venv / "bin" / "userpulse", "features", "--help")
    assert help_.returncode == 0 and "serve" in help_.stdout, help_.stderr
    serve = _run(venv / "bin" / "userpulse", "features", "serve")
    assert serve.returncode == 2 and "pip install 'userpulse[service]'" in serve.stderr
    up = _run(venv / "bin" / "userpulse", "up")
    assert up.returncode == 2 and "needs the job extra" in up.stderr
