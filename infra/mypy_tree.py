"""Build ``.mypy_tree/userpulse``: the installed shape of the package, as symlinks, for mypy.

The repo keeps jobs/, lookup/, producers/, schemas/, sinks/ at the top and installs them as
``userpulse.jobs``, ... (``[tool.setuptools.package-dir]`` in pyproject.toml). An editable install
resolves those through an import hook, which mypy cannot follow, so mypy reads this tree instead
(``[tool.mypy] files``): one link per entry of userpulse/ plus one per mapped package. Rebuilt from
scratch on every run (about 30 links, milliseconds), so new files are always seen. Run by ``make
lint`` and ``make venv``; ``python3 infra/mypy_tree.py`` by hand.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / ".mypy_tree"


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
    for entry in sorted((root / "userpulse").iterdir()):
        if entry.name not in ("__pycache__",):
            (pkg / entry.name).symlink_to(entry)
    for name, folder in sorted(mapping.items()):
        head, _, sub = name.partition(".")
        if head != "userpulse" or not sub or "." in sub or not (root / folder).is_dir():
            raise ValueError(f"package-dir entry {name!r} = {folder!r}: expected userpulse.<name>")
        (pkg / sub).symlink_to(root / folder)
    return pkg


if __name__ == "__main__":
    try:
        build()
    except (OSError, ValueError) as e:
        sys.exit(f"error: {e}")
