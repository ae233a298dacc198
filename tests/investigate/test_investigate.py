"""`agentaudit investigate agent|credential|alert` against the scenario fleet's warehouse.

The JSON output is checked field by field against what the scenario events imply; the
terminal output only for its section titles. Alerts come from the real detection rules.
"""

from __future__ import annotations

import json

import pytest

from tests.investigate.conftest import build_fleet_warehouse
from tests.investigate.scenario import RESEARCH_AGENT, STANDING_CREDENTIAL, SUPPORT_AGENT


@pytest.fixture
def investigate_json(invoke):
    def run(kind: str, entity_id: str, *extra: str) -> dict:
        result = invoke("investigate", kind, entity_id, "--json", *extra)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return run


def test_agent_summary(investigate_json):
    data = investigate_json("agent", SUPPORT_AGENT)
    summary = data["summary"]
    assert summary["agent_kind"] == "support_bot"
    assert summary["event_count"] == 10
    assert summary["task_count"] == 2
    assert summary["first_seen"] == "2026-03-09T09:00:00Z"
    assert summary["last_seen"] == "2026-03-10T09:50:00Z"
    assert data["missing_tables"] == []


def test_agent_identities(investigate_json):
    identities = investigate_json("agent", SUPPORT_AGENT)["identities"]
    assert [row["principal_id"] for row in identities] == ["svc-support"]
    assert identities[0]["principal_type"] == "service_account"
    assert identities[0]["auth_methods"] == "api_key, oauth_client_credentials"


def test_agent_credentials(investigate_json):
    credentials = investigate_json("agent", SUPPORT_AGENT)["credentials"]
    by_id = {row["credential_id"]: row for row in credentials}
    assert set(by_id) == {"cred-task-1", STANDING_CREDENTIAL}
    assert by_id["cred-task-1"]["issued_task_id"] == "task-1"
    assert by_id["cred-task-1"]["revoked_at"] == "2026-03-10T09:50:00Z"
    assert by_id[STANDING_CREDENTIAL]["is_standing"] is True


def test_agent_scopes_granted_and_used(investigate_json):
    scopes = {row["scope"]: row for row in investigate_json("agent", SUPPORT_AGENT)["scopes"]}
    assert set(scopes) == {"billing.export", "crm.read", "crm.write"}
    assert all(row["held"] for row in scopes.values())
    assert scopes["billing.export"]["use_count"] == 0
    # crm.read was used once by this agent; the research agent's use under the same
    # principal is not counted here.
    assert scopes["crm.read"]["use_count"] == 1
    assert scopes["crm.write"]["last_used_at"] == "2026-03-09T09:12:00Z"


def test_agent_scope_used_without_grant(investigate_json):
    scopes = investigate_json("agent", RESEARCH_AGENT)["scopes"]
    docs = [row for row in scopes if row["scope"] == "docs.read"]
    assert len(docs) == 1
    assert docs[0]["held"] is False
    assert docs[0]["granted_at"] is None
    assert docs[0]["use_count"] == 1


def test_agent_access_map(investigate_json):
    access = investigate_json("agent", SUPPORT_AGENT)["access_map"]
    crm_write = [row for row in access if row["scope"] == "crm.write"]
    assert len(crm_write) == 1
    assert crm_write[0]["system"] == "crm"
    assert crm_write[0]["access_basis"] == "grant"


def test_agent_alerts(investigate_json):
    alerts = investigate_json("agent", SUPPORT_AGENT)["alerts"]
    rules = {alert["rule_id"] for alert in alerts}
    assert "credential_outlives_task" in rules
    assert all(alert["explanation"] for alert in alerts)


def test_agent_timeline_newest_first(investigate_json):
    data = investigate_json("agent", SUPPORT_AGENT, "--limit", "3")
    timeline = data["timeline"]
    assert [event["event_id"] for event in timeline] == ["e-106", "e-009", "e-008"]
    assert data["timeline_limit"] == 3


def test_credential_issue_and_task(investigate_json):
    data = investigate_json("credential", "cred-task-1")
    assert data["credential"]["issued_task_id"] == "task-1"
    assert data["issue_event"]["event_id"] == "e-003"
    assert data["issue_event"]["agent_id"] == SUPPORT_AGENT
    assert data["issued_task"]["initiated_by"] == "alice"
    assert data["issued_task"]["ended_at"] == "2026-03-09T09:20:00Z"


def test_credential_uses_across_tasks(investigate_json):
    data = investigate_json("credential", "cred-task-1")
    tasks = {row["task_id"]: row for row in data["tasks_used"]}
    assert set(tasks) == {"task-1", "task-2", "task-3"}
    assert tasks["task-3"]["agent_id"] == RESEARCH_AGENT
    used_by = {(row["agent_id"], row["uses"]) for row in data["used_by"]}
    assert used_by == {(SUPPORT_AGENT, 2), (RESEARCH_AGENT, 1)}


def test_credential_lifecycle(investigate_json):
    lifecycle = investigate_json("credential", "cred-task-1")["lifecycle"]
    assert lifecycle["state"] == "revoked"
    assert lifecycle["as_of"] == "2026-03-10T09:50:00Z"
    assert lifecycle["uses_after_expiry"] == 2
    assert lifecycle["uses_after_issuing_task_ended"] == 2
    assert lifecycle["uses_after_revocation"] == 0


def test_credential_standing_state(investigate_json):
    data = investigate_json("credential", STANDING_CREDENTIAL)
    assert data["lifecycle"]["state"] == "standing"
    assert data["issue_event"] is None


def test_credential_alerts_and_events(investigate_json):
    data = investigate_json("credential", "cred-task-1")
    assert [alert["rule_id"] for alert in data["alerts"]].count("credential_outlives_task") == 1
    assert [event["event_id"] for event in data["events"]] == [
        "e-003", "e-004", "e-007", "e-103", "e-106",
    ]


def test_alert_evidence_and_runbook(invoke, investigate_json):
    listed = invoke(
        "sql", "--format", "json",
        "SELECT alert_id FROM alerts WHERE rule_id = 'credential_outlives_task'",
    )
    alert_id = json.loads(listed.stdout)[0]["alert_id"]
    data = investigate_json("alert", alert_id)
    assert data["alert"]["entity_id"] == "cred-task-1"
    evidence_ids = [event["event_id"] for event in data["evidence"]]
    assert evidence_ids == sorted(data["alert"]["evidence_event_ids"])
    assert data["missing_evidence_ids"] == []
    assert isinstance(data["alert"]["details"], dict)
    assert data["rule"]["runbook"]
    assert data["rule"]["title"] == data["alert"]["rule_title"]


@pytest.mark.parametrize(
    ("kind", "entity_id", "hint"),
    [
        ("agent", "agent-nobody", "no decision events"),
        ("credential", "cred-nobody", "is not in the warehouse"),
        ("alert", "0" * 32, "is not in the warehouse"),
    ],
)
def test_unknown_id_exits_1(invoke, kind, entity_id, hint):
    result = invoke("investigate", kind, entity_id)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert hint in result.stderr
    assert entity_id in result.stderr


def test_terminal_sections(invoke):
    result = invoke("investigate", "agent", SUPPORT_AGENT)
    assert result.exit_code == 0
    for title in ("Identities used", "Credentials held or used", "Scopes granted and used",
                  "Access map", "Alerts", "Timeline"):
        assert title in result.stdout
    credential = invoke("investigate", "credential", "cred-task-1")
    for title in ("State as of the latest event", "Issued for task", "Uses per task"):
        assert title in credential.stdout


def test_missing_alerts_table_noted(invoke, tmp_path):
    build_fleet_warehouse(tmp_path, detect=False)
    result = invoke("investigate", "agent", SUPPORT_AGENT, "--json", data_dir=tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["missing_tables"] == ["alerts"]
    assert data["alerts"] == []
    alert = invoke("investigate", "alert", "abc", data_dir=tmp_path)
    assert alert.exit_code == 1
    assert "no alerts table" in alert.stderr


def test_investigate_usage_error(invoke):
    assert invoke("investigate", "agent").exit_code == 2
    assert invoke("investigate", "principal", "x").exit_code == 2
    assert invoke("investigate", "agent", SUPPORT_AGENT, "--limit", "0").exit_code == 2
