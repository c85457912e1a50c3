"""No default derives from where the package sits (issue 14): paths come from the working
directory or the package itself, and settings read the environment when built, not at import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import userpulse
from tests import REPO_ROOT
from userpulse.backfill import flink_run
from userpulse.jobs import control
from userpulse.producers.replay import DatasetError, read_dataset
from userpulse.pythonpath import worker_python_path
from userpulse.settings import Settings


def test_paths_default_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # make exports USERPULSE_REPLAY_DATA_DIR (the Makefile): the defaults are what is measured here
    for key in (
        "USERPULSE_HOME",
        "USERPULSE_INFRA_LIB",
        "USERPULSE_CHECKOUT_DIR",
        "USERPULSE_REPLAY_DATA_DIR",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.home == tmp_path / ".userpulse"
    assert s.infra_lib == tmp_path / "infra" / "lib"
    assert s.checkout_dir == tmp_path
    assert s.replay_data_dir is None
    package = Path(userpulse.__file__).resolve().parent
    assert package not in s.home.parents
    # a relative path is made absolute against the working directory at build time
    assert Settings(_env_file=None, home=Path("h")).home == tmp_path / "h"  # type: ignore[call-arg]


def test_settings_file_is_read_when_settings_are_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # set after `userpulse.settings` was imported: it must still apply
    monkeypatch.delenv("USERPULSE_KAFKA_PORT", raising=False)
    f = tmp_path / "other.env"
    f.write_text("USERPULSE_KAFKA_PORT=29999\n")
    monkeypatch.setenv("USERPULSE_SETTINGS_FILE", str(f))
    assert Settings().kafka_port == 29999
    monkeypatch.delenv("USERPULSE_SETTINGS_FILE")
    monkeypatch.chdir(tmp_path)  # no userpulse.env here
    assert Settings().kafka_port == 19092


def test_shipped_scripts_are_found_through_the_package() -> None:
    assert control.ENTRY.is_file()
    assert control.ENTRY.parent == Path(control.__file__).resolve().parent
    assert flink_run.JOB_FILE.is_file()
    assert flink_run.JOB_FILE.parent == Path(flink_run.__file__).resolve().parent


def test_replay_without_a_data_folder_names_what_to_set() -> None:
    with pytest.raises(DatasetError, match="--data-dir or set USERPULSE_REPLAY_DATA_DIR"):
        read_dataset("ebnerd", None)


def test_worker_python_path_imports_the_namespace_without_this_venv(tmp_path: Path) -> None:
    # what PyFlink's embedded workers get: the base interpreter (no venv, no .pth processing, so
    # no editable-install hook), the package only through PYTHONPATH
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONPATH"] = worker_python_path()
    done = subprocess.run(
        [sys._base_executable, "-c", "import userpulse.lookup.merge, userpulse.jobs; print('ok')"],  # type: ignore[attr-defined]
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_every_package_folder_is_installed() -> None:
    # a subpackage missing from [tool.setuptools] packages works in the checkout but is absent
    # from a normal install (issue 14's one namespace: userpulse.config was nearly one)
    setup = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(i.parent.relative_to(REPO_ROOT).parts)
        for i in (REPO_ROOT / "userpulse").rglob("__init__.py")
    }
    for package, folder in setup["package-dir"].items():
        for init in (REPO_ROOT / folder).rglob("__init__.py"):
            found.add(".".join((package, *init.parent.relative_to(REPO_ROOT / folder).parts)))
    assert found == set(setup["packages"])
