"""Static checks of the deployment files under infra/ (no Docker, no Kubernetes needed).

- docker-compose.yml against the Compose Specification schema (vendored by the pinned
  check-jsonschema package), plus pinned images, port collisions, depends_on, Prometheus targets,
  Grafana provisioning paths and the Redis ACL rules;
- the FlinkDeployment against the Flink Kubernetes Operator's CRD schema (flink-kubernetes-
  operator-api from Maven Central, via infra/deploy-schemas/pom.xml);
- the Grafana dashboard: every userpulse_* metric it queries is registered by our code.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import tomllib

from tests import REPO_ROOT
from tests import deploykit as dk

FLINK_VERSION = "2.2.1"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(dk.load_yaml(dk.COMPOSE_FILE))


@pytest.fixture(scope="module")
def deployment() -> dict[str, Any]:
    return dict(dk.load_yaml(dk.FLINK_DEPLOYMENT_FILE))


# --- docker compose -------------------------------------------------------------------------------


def test_compose_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = dk.compose_schema()
    assert schema["title"] == "Compose Specification"
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(compose), key=lambda e: e.json_path
    )
    assert [f"{e.json_path}: {e.message}" for e in errors] == []


def test_compose_schema_rejects_a_broken_file(compose: dict[str, Any]) -> None:
    """The schema is really applied: an unknown service key and a bad port fail."""
    broken = {**compose, "services": {**compose["services"]}}
    broken["services"]["redis"] = {**compose["services"]["redis"], "imagee": "x"}
    port = {"target": 80, "bogus": 1}
    broken["services"]["lookup"] = {**compose["services"]["lookup"], "ports": [port]}
    validator = jsonschema.Draft202012Validator(dk.compose_schema())
    paths = {e.json_path for e in validator.iter_errors(broken)}
    assert {"$.services.redis", "$.services.lookup.ports[0]"} <= paths


def test_compose_services_and_pinned_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "kafka", "kafka-init", "redis", "jobmanager", "taskmanager", "job-submitter", "lookup",
        "prometheus", "grafana",
    }  # fmt: skip
    images = {name: s["image"] for name, s in services.items()}
    for name, image in images.items():
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest", f"{name}: image {image!r} is not pinned"
        assert re.search(r"\d", tag), f"{name}: tag {tag!r} has no version"
    assert images["kafka"] == "apache/kafka:4.1.1"
    assert images["redis"].startswith("redis:7.")
    project_image = f"userpulse:0.1.0-flink{FLINK_VERSION}"
    for name in ("jobmanager", "taskmanager", "job-submitter", "lookup"):
        assert images[name] == project_image
    assert services["jobmanager"]["build"]["dockerfile"] == "infra/docker/Dockerfile"


def _published(service: dict[str, Any]) -> list[int]:
    out = []
    for p in service.get("ports", []):
        host, _, _container = str(p).rpartition(":")
        out.append(int(host))
    return out


def test_compose_ports_do_not_collide(compose: dict[str, Any]) -> None:
    published = Counter(p for s in compose["services"].values() for p in _published(s))
    assert [p for p, n in published.items() if n > 1] == []
    assert set(published) == {29092, 8081, 18080, 9090, 3000}
    # the local stack (`userpulse up`: Kafka 19092, Redis 16379) can run next to compose
    assert not set(published) & {19092, 19093, 16379}


def test_compose_depends_on_names_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    edges = {(name, dep) for name, s in services.items() for dep in (s.get("depends_on") or [])}
    assert edges, "no depends_on at all"
    assert {dep for _, dep in edges} <= set(services)
    assert services["job-submitter"]["depends_on"]["kafka-init"] == {
        "condition": "service_completed_successfully"
    }


def test_compose_job_settings(compose: dict[str, Any]) -> None:
    env = compose["services"]["taskmanager"]["environment"]
    assert env["USERPULSE_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["USERPULSE_JOB_METRICS_PORT"] == "9250"
    flink = dict(line.split(": ", 1) for line in env["FLINK_PROPERTIES"].strip().splitlines())
    assert flink["metrics.reporter.prom.port"] == "9249"
    assert flink["metrics.reporter.prom.factory.class"].endswith("PrometheusReporterFactory")
    cmd = compose["services"]["job-submitter"]["command"]
    assert cmd[-2:] == ["-py", "/opt/userpulse/jobs/entry.py"]
    assert (REPO_ROOT / "jobs" / "entry.py").is_file()
    # every ${VAR} the file needs is documented in the env example
    needed = set(re.findall(r"\$\{(\w+):\?", dk.COMPOSE_FILE.read_text()))
    example = (dk.INFRA / "docker" / "compose.env.example").read_text()
    assert needed == set(re.findall(r"^(\w+)=", example, re.MULTILINE))


def _exposed(service: dict[str, Any]) -> set[int]:
    ports = {int(str(p).rpartition(":")[2]) for p in service.get("ports", [])}
    return ports | {int(p) for p in service.get("expose", [])}


def test_prometheus_targets_are_compose_services(compose: dict[str, Any]) -> None:
    prom = dk.load_yaml(dk.PROMETHEUS_FILE)
    targets = {
        job["job_name"]: t
        for job in prom["scrape_configs"]
        for sc in job["static_configs"]
        for t in sc["targets"]
    }
    assert targets == {
        "flink-jobmanager": "jobmanager:9249",
        "flink-taskmanager": "taskmanager:9249",
        "userpulse-job": "taskmanager:9250",
        "userpulse-lookup": "lookup:18080",
    }
    for job, target in targets.items():
        host, _, port = target.partition(":")
        assert host in compose["services"], f"{job}: {host} is no compose service"
        assert int(port) in _exposed(compose["services"][host]), f"{job}: {target} not exposed"
    mount = "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
    assert mount in compose["services"]["prometheus"]["volumes"]


def test_grafana_provisioning_paths_exist(compose: dict[str, Any]) -> None:
    mounts = [v.split(":") for v in compose["services"]["grafana"]["volumes"]]
    local = {
        container: (dk.INFRA / host).resolve() for host, container, *_ in mounts if "/" in host
    }
    assert local["/etc/grafana/provisioning"].is_dir()
    assert local["/var/lib/grafana/dashboards"] == dk.DASHBOARD_FILE.parent
    providers = dk.load_yaml(local["/etc/grafana/provisioning"] / "dashboards" / "userpulse.yml")
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    datasources = dk.load_yaml(dk.DATASOURCES_FILE)["datasources"]
    assert [(d["uid"], d["url"]) for d in datasources] == [
        ("userpulse-prometheus", "http://prometheus:9090")
    ]


def test_compose_redis_acl_rules_equal_the_projects() -> None:
    """The ACL lines written by the Redis entry point are userpulse/redis_acl.py's rules."""
    from userpulse.redis_acl import DEFAULT_USER_RULE, RULES

    script = (dk.INFRA / "docker" / "redis-entrypoint.sh").read_text()
    connect = re.search(r"^CONNECT='([^']*)'$", script, re.MULTILINE)
    assert connect is not None
    lines = [
        line.strip()[len('echo "') : -1].replace("$CONNECT", connect.group(1))
        for line in script.splitlines()
        if line.strip().startswith('echo "user ')
    ]
    assert lines[0] == DEFAULT_USER_RULE
    for role in ("job", "lookup", "admin"):
        line = next(line for line in lines if line.startswith(f"user userpulse-{role} on "))
        hashed = f'#$(hash "$USERPULSE_REDIS_{role.upper()}_PASSWORD") '
        assert line == f"user userpulse-{role} on {hashed}{RULES[role]}"


def test_dockerfile_versions_match_the_project() -> None:
    text = dk.DOCKERFILE.read_text()
    assert f"ARG FLINK_VERSION={FLINK_VERSION}" in text
    assert "FROM flink:${FLINK_VERSION}-scala_2.12-java17" in text
    assert "python3.11 -m venv /opt/venv" in text
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert f"apache-flink=={FLINK_VERSION}" in pyproject["project"]["optional-dependencies"]["job"]
    pom = (dk.INFRA / "pom.xml").read_text()
    assert f"<flink.version>{FLINK_VERSION}</flink.version>" in pom
    for src in re.findall(r"^COPY (?!--)(\S+) ", text, re.MULTILINE):
        assert (REPO_ROOT / src).exists(), f"Dockerfile copies missing {src}"


# --- FlinkDeployment ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flink_schema() -> dict[str, Any]:
    crd = dk.flink_deployment_crd(REPO_ROOT / "infra" / "lib" / "deploy-schemas")
    assert crd["spec"]["names"]["kind"] == "FlinkDeployment"
    schema = dk.to_json_schema(dk.crd_version_schema(crd, "v1beta1"))
    versions = schema["properties"]["spec"]["properties"]["flinkVersion"]
    # operator-api 1.10.0 (newest on Maven Central) knows Flink up to 1.20; operators >= 1.11
    # add v2_0, v2_1, v2_2 to the same enum. Pin what we extend so an update is noticed.
    assert versions["enum"] == [f"v1_{m}" for m in range(13, 21)]
    versions["enum"] = [*versions["enum"], "v2_0", "v2_1", "v2_2"]
    return dict(schema)


def test_flink_deployment_matches_the_operator_crd(
    deployment: dict[str, Any], flink_schema: dict[str, Any]
) -> None:
    errors = jsonschema.Draft7Validator(flink_schema).iter_errors(deployment)
    assert [f"{e.json_path}: {e.message}" for e in errors] == []


def test_flink_crd_schema_rejects_a_broken_deployment(
    deployment: dict[str, Any], flink_schema: dict[str, Any]
) -> None:
    spec = {**deployment["spec"], "job": {**deployment["spec"]["job"], "upgradeMode": "sometimes"}}
    spec["flinkVersion"] = "v3_0"
    errors = jsonschema.Draft7Validator(flink_schema).iter_errors({**deployment, "spec": spec})
    assert sorted(e.json_path for e in errors) == ["$.spec.flinkVersion", "$.spec.job.upgradeMode"]


def test_flink_deployment_values(deployment: dict[str, Any]) -> None:
    assert deployment["apiVersion"] == "flink.apache.org/v1beta1"
    spec = deployment["spec"]
    major, minor, _ = FLINK_VERSION.split(".")
    assert spec["flinkVersion"] == f"v{major}_{minor}"
    assert spec["image"].endswith(f"-flink{FLINK_VERSION}")
    job = spec["job"]
    assert job["jarURI"] == f"local:///opt/flink/opt/flink-python-{FLINK_VERSION}.jar"
    assert job["entryClass"] == "org.apache.flink.client.python.PythonDriver"
    py = job["args"][job["args"].index("-py") + 1]
    assert py == "/opt/userpulse/jobs/entry.py"
    assert (REPO_ROOT / py.removeprefix("/opt/userpulse/")).is_file()
    assert (job["upgradeMode"], job["parallelism"], job["state"]) == ("savepoint", 2, "running")
    conf = spec["flinkConfiguration"]
    assert conf["execution.checkpointing.savepoint-dir"].startswith("file:///flink-data/")
    assert conf["execution.checkpointing.dir"].startswith("file:///flink-data/")
    assert conf["metrics.reporter.prom.port"] == "9249"
    for part in ("jobManager", "taskManager"):
        assert float(spec[part]["resource"]["cpu"]) > 0
        assert spec[part]["resource"]["memory"].endswith("m")
    ports = {
        p["name"]: p["containerPort"] for p in spec["podTemplate"]["spec"]["containers"][0]["ports"]
    }
    assert ports == {"flink-metrics": 9249, "job-metrics": 9250}


def test_k8s_config_has_every_setting_name_right() -> None:
    """Every USERPULSE_* key in the ConfigMap / Secret is a field of Settings."""
    import yaml

    from userpulse.settings import Settings

    docs = list(yaml.safe_load_all((dk.INFRA / "k8s" / "config.yaml").read_text()))
    keys = set(docs[0]["data"]) | set(docs[1]["stringData"])
    fields = {f"USERPULSE_{n.upper()}" for n in Settings.model_fields}
    assert keys - fields == set()


# --- Grafana dashboard ----------------------------------------------------------------------------


def test_promql_metric_name_extraction() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, endpoint) (rate(a_b_bucket{code=~"5..", x="y"}'
        "[$__rate_interval]))) / ignoring(x) max without (z) (c:d offset 5m) + on(k) "
        "group_left(m) e_total > bool 2"
    )
    assert dk.promql_metric_names(expr) == {"a_b_bucket", "c:d", "e_total"}


def test_dashboard_structure() -> None:
    import json

    dash = json.loads(dk.DASHBOARD_FILE.read_text())
    assert dash["uid"] == "userpulse-overview"
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    assert len(panels) >= 12
    uid = dk.load_yaml(dk.DATASOURCES_FILE)["datasources"][0]["uid"]
    for p in panels:
        assert p["datasource"]["uid"] == uid, p["title"]
        assert p["targets"], p["title"]
        assert all(t["datasource"]["uid"] == uid for t in p["targets"])
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))


def test_dashboard_userpulse_metrics_are_exported() -> None:
    used = dk.dashboard_metric_names()
    ours = {n for n in used if n.startswith("userpulse_")}
    exported = dk.userpulse_exported_names()
    assert ours - exported == set()
    # what design section 8 and the brief ask to see
    assert {
        "userpulse_events_in_total",
        "userpulse_events_counted_total",
        "userpulse_events_late_total",
        "userpulse_events_dead_lettered_total",
        "userpulse_freshness_ms_bucket",
        "userpulse_redis_write_seconds_bucket",
        "userpulse_redis_write_retries_total",
        "userpulse_lookup_request_duration_seconds_bucket",
        "userpulse_lookup_requests_total",
    } <= ours
    assert used - ours == dk.FLINK_METRICS_USED  # nothing but userpulse_* and flink_*


def test_dashboard_flink_metrics() -> None:
    assert {
        "flink_taskmanager_job_task_operator_pendingRecords",
        "flink_taskmanager_job_task_operator_KafkaSourceReader_KafkaConsumer_records_lag_max",
        "flink_jobmanager_job_numberOfFailedCheckpoints",
        "flink_jobmanager_job_numRestarts",
        "flink_jobmanager_job_lastCheckpointDuration",
        "flink_jobmanager_job_lastCheckpointSize",
    } == dk.FLINK_METRICS_USED


def test_dashboard_labels_exist_on_the_metrics() -> None:
    """``by (label)`` clauses name labels the userpulse metrics really carry."""
    from userpulse import metrics
    from userpulse.lookup.service.metrics import ServiceMetrics

    labels = {
        "userpulse_events_dead_lettered_total": set(metrics.EVENTS_DEAD_LETTERED._labelnames),
    }
    svc = ServiceMetrics()
    labels["userpulse_lookup_requests_total"] = set(svc.requests._labelnames)
    labels["userpulse_lookup_request_duration_seconds_bucket"] = {
        *svc.request_seconds._labelnames,
        "le",
    }
    labels["userpulse_lookup_feature_status_total"] = set(svc.feature_statuses._labelnames)
    for expr in dk.dashboard_exprs():
        for name, have in labels.items():
            if name in dk.promql_metric_names(expr):
                for group in re.findall(r"by \(([^)]*)\)", expr):
                    wanted = {g.strip() for g in group.split(",")}
                    assert wanted <= have, f"{expr}: {wanted - have}"


def test_docs_commands_name_existing_files() -> None:
    """The shell lines of docs/deploy.md refer to files that exist."""
    text = (REPO_ROOT / "docs" / "deploy.md").read_text()
    paths = set()
    for line in re.findall(r"^\s*(?:docker|kubectl|mvn)\b.*$", text, re.MULTILINE):
        for word in shlex.split(line, comments=True):
            if word.startswith("infra/") and not word.endswith("compose.env"):  # user's copy
                paths.add(word.rstrip(","))
    assert paths, "no commands found"
    missing = [p for p in sorted(paths) if not (REPO_ROOT / p).exists()]
    assert missing == []


def test_paths_module_files_exist() -> None:
    for p in (
        dk.COMPOSE_FILE,
        dk.DOCKERFILE,
        dk.PROMETHEUS_FILE,
        dk.DASHBOARD_FILE,
        dk.DATASOURCES_FILE,
        dk.FLINK_DEPLOYMENT_FILE,
        dk.SCHEMAS_POM,
    ):
        assert Path(p).is_file(), p
