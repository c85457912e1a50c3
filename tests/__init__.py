"""The test suite. Tests (and only tests, with bench/) know where the checkout is: library code
finds what it ships through the package and everything else through settings."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout the tests run from (its infra/, jvm/, docs/ and the shared/ folder beside it)."""
