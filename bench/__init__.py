"""Benchmarks of userpulse (``make bench``): separate from the tests, run on the real local stack.

``python -m bench.run`` is the orchestrator; see ``docs/bench.md`` for how to read its report.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout the benchmark runs from (bench/out, its infra/ and jvm/)."""
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "real"
"""The recorded logs the benchmark replays (the workplace's shared/ folder beside the checkout)."""
