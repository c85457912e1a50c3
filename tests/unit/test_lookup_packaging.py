"""The lookup client and service install and import without the job's dependencies (issue 5).

Cheap checks, no services: the base requirements name no PyFlink / Beam / Kafka / Avro package,
and a fresh interpreter whose import system refuses those packages can still import the lookup
client, the asyncio client, the HTTP service app and the CLI's `features` commands.
(``tests/integration/test_lookup_install.py`` does a real ``pip install`` into a new venv.)
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import tomllib

from tests import REPO_ROOT

JOB_ONLY = ("apache-flink", "apache-beam", "confluent-kafka", "fastavro", "pyarrow", "pandas")


def _name(req: str) -> str:
    """Distribution name of a requirement string (``redis[hiredis]>=5`` -> ``redis``)."""
    for sep in "[<>=!~; ":
        req = req.split(sep)[0]
    return req.strip().lower()


def test_base_requirements_in_pyproject_have_no_job_dependencies() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    base = {_name(r) for r in project["dependencies"]}
    assert base == {"redis", "prometheus-client", "pydantic", "pydantic-settings", "typer", "rich"}
    extras = project["optional-dependencies"]
    assert {_name(r) for r in extras["job"]} >= {"apache-flink", "confluent-kafka", "fastavro"}
    assert {_name(r) for r in extras["service"]} >= {"fastapi", "uvicorn"}
    assert not {_name(r) for r in extras["service"]} & set(JOB_ONLY)


def test_installed_distribution_base_requirements_have_no_job_dependencies() -> None:
    reqs = importlib.metadata.requires("userpulse") or []
    base = [_name(r) for r in reqs if "extra ==" not in r]
    assert base and not set(base) & set(JOB_ONLY), base
    job = [_name(r) for r in reqs if 'extra == "job"' in r]
    assert "apache-flink" in job


_FORBID = """
import sys
FORBIDDEN = ("pyflink", "apache_beam", "confluent_kafka", "fastavro", "pyarrow", "pandas")

class Forbid:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ModuleNotFoundError(f"forbidden in a lookup-only install: {name}", name=name)
        return None

sys.meta_path.insert(0, Forbid())

from userpulse import lookup; import userpulse.lookup.aio; import userpulse.lookup.service
from userpulse.lookup.service import create_app
from userpulse.settings import Settings
app = create_app(Settings(_env_file=None))
assert "/v1/features/batch" in app.openapi()["paths"]

from typer.testing import CliRunner
from userpulse.cli import app as cli
r = CliRunner().invoke(cli, ["features", "--help"])
assert r.exit_code == 0 and "serve" in r.output, r.output
r = CliRunner().invoke(cli, ["up"])
assert r.exit_code == 2 and "needs the job extra" in r.output, r.output
loaded = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
print("OK", loaded)
"""


def test_lookup_service_and_cli_import_without_job_packages() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FORBID],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "OK []"
