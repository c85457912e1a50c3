"""Helpers of the static deployment tests: the deployment files, their schemas, PromQL names.

``FLINK_METRICS_USED`` is the set of Flink metric names (as Flink's Prometheus reporter renders
them) that the Grafana dashboard queries, for a live check against a running cluster's reporter.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY, CollectorRegistry

from tests import REPO_ROOT

INFRA = REPO_ROOT / "infra"
COMPOSE_FILE = INFRA / "docker-compose.yml"
DOCKERFILE = INFRA / "docker" / "Dockerfile"
PROMETHEUS_FILE = INFRA / "prometheus" / "prometheus.yml"
DASHBOARD_FILE = INFRA / "grafana" / "dashboards" / "userpulse.json"
DATASOURCES_FILE = INFRA / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
FLINK_DEPLOYMENT_FILE = INFRA / "k8s" / "flinkdeployment.yaml"
SCHEMAS_POM = INFRA / "deploy-schemas" / "pom.xml"
FLINK_OPERATOR_VERSION = "1.10.0"  # = <flink.operator.version> in infra/deploy-schemas/pom.xml

# PromQL words that look like metric names: keywords, aggregation modifiers, set operators
_PROMQL_WORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}
    | {"offset", "inf", "nan", "atan2"}
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
_IDENT = re.compile(r"(?<![\w$.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()")


def promql_metric_names(expr: str) -> set[str]:
    """Metric names in one PromQL expression (functions, labels, keywords, durations left out).

    Example: ``histogram_quantile(0.99, sum by (le) (rate(x_bucket{a="b"}[5m])))`` gives
    ``{"x_bucket"}``.
    """
    text = _STRING.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables ($__rate_interval, ${x})
    names = {m for m in _IDENT.findall(text) if m.lower() not in _PROMQL_WORDS}
    return {n for n in names if not re.fullmatch(r"\d+[smhdwy]?", n)}


def dashboard_exprs(path: Path = DASHBOARD_FILE) -> list[str]:
    """Every PromQL ``expr`` of every panel (nested rows included) of a Grafana dashboard JSON."""
    exprs: list[str] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for p in panels:
            exprs.extend(t["expr"] for t in p.get("targets", []) if t.get("expr"))
            walk(p.get("panels", []))

    walk(json.loads(path.read_text())["panels"])
    return exprs


def dashboard_metric_names(path: Path = DASHBOARD_FILE) -> set[str]:
    """Metric names that the dashboard's PromQL expressions query (as scraped, with suffixes).

    Args:
        path: a Grafana dashboard JSON file.

    Returns:
        Names like ``userpulse_freshness_ms_bucket`` or
        ``flink_jobmanager_job_numberOfFailedCheckpoints``.
    """
    names: set[str] = set()
    for expr in dashboard_exprs(path):
        names |= promql_metric_names(expr)
    return names


FLINK_METRICS_USED: set[str] = {
    n for n in dashboard_metric_names(DASHBOARD_FILE) if n.startswith("flink_")
}
"""Flink reporter metric names the dashboard uses (check them against a live reporter)."""


def load_yaml(path: Path) -> Any:
    """The first (only) YAML document of ``path``."""
    return yaml.safe_load(path.read_text())


def compose_schema() -> dict[str, Any]:
    """The Compose Specification JSON schema vendored by the pinned ``check-jsonschema`` package.

    Source: check_jsonschema/builtin_schemas/vendor/compose-spec.json (from the compose-spec
    project, Apache-2.0, licence file ``vendor/licenses/LICENSE.compose-spec``).
    """
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return dict(json.loads(vendor.joinpath("compose-spec.json").read_text()))


def flink_deployment_crd(lib_dir: Path) -> dict[str, Any]:
    """The FlinkDeployment CRD of the Flink Kubernetes Operator, fetched from Maven Central.

    Runs ``mvn -q -B -f infra/deploy-schemas/pom.xml -Dlib.dir=<lib_dir> package`` when the file
    is not there yet (once; later runs read it).

    Args:
        lib_dir: where the schemas go, normally ``<settings.infra_lib>/deploy-schemas``.

    Returns:
        The CustomResourceDefinition document.

    Raises:
        RuntimeError: mvn missing or the Maven run failed (its output is included).
    """
    crd = (
        lib_dir
        / f"flink-kubernetes-operator-{FLINK_OPERATOR_VERSION}"
        / "flinkdeployments.flink.apache.org-v1.yml"
    )
    if not crd.is_file():
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("mvn not on PATH: needed to fetch the Flink operator CRD")
        cmd = [mvn, "-q", "-B", "-f", str(SCHEMAS_POM), f"-Dlib.dir={lib_dir}", "package"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not crd.is_file():
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    return dict(yaml.safe_load(crd.read_text()))


def crd_version_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of one served version (``v1beta1``) of a CRD."""
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return dict(v["schema"]["openAPIV3Schema"])
    raise KeyError(f"CRD has no version {version}")


def to_json_schema(node: Any) -> Any:
    """Kubernetes structural-schema extensions to plain JSON schema (recursively).

    ``x-kubernetes-int-or-string`` becomes ``integer | string``; ``x-kubernetes-preserve-unknown
    -fields`` needs nothing (JSON schema allows unknown properties by default); ``nullable`` adds
    ``null`` to the type.
    """
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def exported_names(registry: CollectorRegistry) -> set[str]:
    """Sample names a registry exports (labelled metrics too, before any child exists).

    A counter ``x`` exports ``x_total`` and ``x_created``; a histogram ``x_bucket``, ``x_count``,
    ``x_sum``, ``x_created``; a gauge ``x``.
    """
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "gauge": ("",),
        "summary": ("_count", "_sum", "_created"),
    }
    names = set()
    for family in registry.collect():
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
    return names


def userpulse_exported_names() -> set[str]:
    """Every ``userpulse_*`` name the job workers, the lookup service and the producers export."""
    import userpulse.metrics  # noqa: F401  (registers the job metrics in the default registry)
    from userpulse.lookup.service.metrics import ServiceMetrics
    from userpulse.producers.metrics import ProducerMetrics

    names = exported_names(REGISTRY)
    names |= exported_names(ServiceMetrics().registry)
    names |= exported_names(ProducerMetrics(1.0).registry)
    return {n for n in names if n.startswith("userpulse_")}
