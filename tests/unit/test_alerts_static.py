"""infra/prometheus/alerts.yml: loaded by the Prometheus config and mounted in Compose, well
formed, and every metric it alerts on is exported (the userpulse_* ones by our registries, the
flink_* ones are among those the live-cluster test checks)."""

from __future__ import annotations

from tests import deploykit as dk

ALERTS = dk.INFRA / "prometheus" / "alerts.yml"


def _rules() -> list[dict]:
    return [r for g in dk.load_yaml(ALERTS)["groups"] for r in g["rules"]]


def test_alerts_are_loaded_and_mounted() -> None:
    assert dk.load_yaml(dk.PROMETHEUS_FILE)["rule_files"] == ["alerts.yml"]
    volumes = dk.load_yaml(dk.COMPOSE_FILE)["services"]["prometheus"]["volumes"]
    assert "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in volumes


def test_alert_rules_are_well_formed() -> None:
    rules = _rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)) == 10
    for r in rules:
        assert r["labels"]["severity"] in ("page", "ticket")
        assert r["annotations"]["runbook"].startswith("docs/operations.md#")
        assert r["expr"].strip()


def test_alerts_cover_the_issue_list_and_use_exported_metrics() -> None:
    used = set().union(*(dk.promql_metric_names(r["expr"]) for r in _rules()))
    assert {
        "flink_taskmanager_job_task_operator_pendingRecords",  # consumer lag
        "userpulse_freshness_ms_bucket",  # freshness p99
        "userpulse_events_dead_lettered_total",  # dead-letter rate
        "flink_jobmanager_job_numberOfFailedCheckpoints",  # checkpoint failures
        "userpulse_store_blocked",  # Redis out of memory, loading, down (issue 12)
        "userpulse_store_errors_total",  # a key Redis refuses (issue 12)
        "userpulse_schema_registry_retries_total",  # the registry down or hanging (issue 13)
    } <= used
    ours = {n for n in used if n.startswith("userpulse_")}
    assert ours <= dk.userpulse_exported_names()
    assert used - ours <= dk.FLINK_METRICS_USED


def test_runbook_anchors_exist() -> None:
    text = (dk.REPO_ROOT / "docs" / "operations.md").read_text()
    anchors = {
        "-".join("".join(c for c in line[3:].lower() if c.isalnum() or c in " -").split())
        for line in text.splitlines()
        if line.startswith("## ") or line.startswith("### ")
    }
    for r in _rules():
        assert r["annotations"]["runbook"].split("#", 1)[1] in anchors, r["alert"]
