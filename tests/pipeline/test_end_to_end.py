"""The whole pipeline on the real broker: simulate, produce, ingest, Dagster, alerts.

Covers the spine a newcomer runs with the demo: every injected case of a small seeded
fleet alerts, a fleet with no injected case raises no alert, and a re-run changes nothing.
The large-scale precision and recall figures come from `agentaudit evaluate` instead.
"""

from __future__ import annotations

import json

import dagster as dg
import pytest

from pipelines.defs.runner import run_job
from pipelines.evaluation import score
from pipelines.investigations.connection import open_warehouse_reader
from pipelines.kafka.producer import ensure_topic, produce_events
from pipelines.sources.simulator import generate_events, plan_fleet

SEED = 11
DAYS = 10


def _resource_config(settings) -> dict:
    return {
        "data_dir": str(settings.data_dir),
        "topic": settings.topic,
        "consumer_group": settings.consumer_group,
    }


def _alert_rows(settings) -> list[tuple[str, str, str]]:
    con = open_warehouse_reader(settings.warehouse_path)
    try:
        return con.execute(
            "SELECT rule_id, entity_id, agent_id FROM alerts ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


def _run_fleet(settings, *, inject: bool):
    plan = plan_fleet(seed=SEED, days=DAYS, agents_per_kind=1, inject=inject)
    ensure_topic(settings)
    produced = produce_events(settings, generate_events(plan))
    summary = run_job(
        "agentaudit_pipeline",
        resource_config=_resource_config(settings),
        instance=dg.DagsterInstance.ephemeral(),
    )
    return plan, produced, summary


@pytest.mark.integration
def test_injected_fleet_alerts_every_case(settings):
    plan, produced, summary = _run_fleet(settings, inject=True)

    assert produced > 0
    assert summary.success, summary
    assert summary.failed_checks == []
    assert "alert_exports" in summary.materialized
    alerts = _alert_rows(settings)
    scores = score([(rule, entity) for rule, entity, _ in alerts], plan.ground_truth)
    for rule_id, rule_score in scores.items():
        assert rule_score.false_negative_ids == [], f"{rule_id} missed injected cases"
    for core_rule in (
        "privilege_creep", "blended_identity", "unused_grant", "credential_outlives_task"
    ):
        assert scores[core_rule].true_positives >= 1, f"no {core_rule} alert"
    clean = {agent.agent_id for agent in plan.agents if agent.clean}
    assert [row for row in alerts if row[2] in clean] == []

    rerun = run_job(
        "agentaudit_pipeline",
        resource_config=_resource_config(settings),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert rerun.success
    assert _alert_rows(settings) == alerts
    exported = (settings.alerts_dir / "ocsf_detection_findings.ndjson").read_text().splitlines()
    findings = [json.loads(line) for line in exported]
    uids = [finding["finding_info"]["uid"] for finding in findings]
    assert len(uids) == len(set(uids)), "an alert was exported twice"
    for finding in findings:
        techniques = [attack["technique"] for attack in finding["finding_info"]["attacks"]]
        assert techniques, f"finding {finding['finding_info']['uid']} names no ATT&CK technique"
        assert all(t["uid"].startswith("T") and t.get("name") for t in techniques)


@pytest.mark.integration
def test_clean_fleet_raises_no_alert(settings):
    plan, produced, summary = _run_fleet(settings, inject=False)

    assert produced > 0
    assert plan.ground_truth == []
    assert summary.success, summary
    assert _alert_rows(settings) == []
