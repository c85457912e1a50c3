"""Build ``.package_tree/userpulse``: the installed shape of the package, as symlinks, for the
static tools (mypy, import-linter).

The repo keeps jobs/, lookup/, producers/, schemas/, sinks/ at the top and installs them as
``userpulse.jobs``, ... (``[tool.setuptools.package-dir]`` in pyproject.toml). An editable install
resolves those through an import hook, which mypy and import-linter (grimp) cannot follow, so they
read this tree instead (``[tool.mypy] files``; ``lint-imports`` run with the tree first on
``PYTHONPATH``): real directories, one symlink per ``.py`` file, userpulse/ plus each mapped
folder. Rebuilt from scratch on every run (~120 links, milliseconds), so new files are always
seen. Run by ``make lint`` and ``make venv``; ``python3 infra/package_tree.py`` by hand.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / ".package_tree"


def _link_py_files(src: Path, dst: Path) -> None:
    """Mirror ``src``'s directories under ``dst`` with a symlink per ``.py`` file."""
    for f in sorted(src.rglob("*.py")):
        rel = f.relative_to(src)
        if "__pycache__" in rel.parts:
            continue
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        (dst / rel).symlink_to(f)


def build(root: Path = ROOT, tree: Path = TREE) -> Path:
    """Recreate ``tree/userpulse`` from ``root``; returns that directory.

    Raises:
        ValueError: a package-dir entry that is not ``userpulse.<name>`` or whose folder is missing.
    """
    mapping = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ]
    shutil.rmtree(tree, ignore_errors=True)
    pkg = tree / "userpulse"
    pkg.mkdir(parents=True)
    _link_py_files(root / "userpulse", pkg)
    for name, folder in sorted(mapping.items()):
        head, _, sub = name.partition(".")
        if head != "userpulse" or not sub or "." in sub or not (root / folder).is_dir():
            raise ValueError(f"package-dir entry {name!r} = {folder!r}: expected userpulse.<name>")
        _link_py_files(root / folder, pkg / sub)
    return pkg


if __name__ == "__main__":
    try:
        build()
    except (OSError, ValueError) as e:
        sys.exit(f"error: {e}")
