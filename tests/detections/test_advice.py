"""Least-privilege advice: replaying stored events against each unused scope."""

from __future__ import annotations

from detections.advice import advise_unused_grants
from detections.runner import run_detections
from tests.detections.helpers import RUN_TIME, fixture_warehouse

PRINCIPAL = "sa:research_assistant-09"
BASE = {"schema_version": "1", "agent_id": "research_assistant-09",
        "agent_kind": "research_assistant", "principal_id": PRINCIPAL,
        "principal_type": "service_account"}
EVENTS = [
    {**BASE, "event_id": "ad-1", "event_time": "2026-01-01T00:00:00Z",
     "event_type": "grant_added", "scopes": ["docs.read", "crm.export", "wiki.read"]},
    # A failed export attempt is no use for unused_grant, but removal would deny it.
    {**BASE, "event_id": "ad-2", "event_time": "2026-04-10T00:00:00Z",
     "event_type": "tool_invoked", "action": "export", "scopes": ["crm.export"],
     "outcome": "failure"},
    {**BASE, "event_id": "ad-3", "event_time": "2026-04-30T00:00:00Z",
     "event_type": "tool_invoked", "action": "read", "scopes": ["docs.read"],
     "outcome": "success"},
    # A credential carrying wiki.read is no action on it.
    {**BASE, "event_id": "ad-4", "event_time": "2026-04-30T01:00:00Z",
     "event_type": "credential_issued", "credential_id": "c-9", "scopes": ["wiki.read"]},
]


def test_advice_replays_events_per_scope(tmp_path):
    con = fixture_warehouse(EVENTS, tmp_path)
    run_detections(con, thresholds={}, suppressions=[], boundaries={},
                   rule_ids=["unused_grant"], now=RUN_TIME)
    advice = {item.scope: item for item in advise_unused_grants(con)}
    assert set(advice) == {"crm.export", "wiki.read"}
    assert advice["crm.export"].actions_denied == 1
    assert advice["crm.export"].safe_to_remove is False
    assert advice["crm.export"].example_event_id == "ad-2"
    assert advice["wiki.read"].actions_denied == 0
    assert advice["wiki.read"].safe_to_remove is True


def test_advice_window_excludes_older_events(tmp_path):
    con = fixture_warehouse(EVENTS, tmp_path)
    run_detections(con, thresholds={}, suppressions=[], boundaries={},
                   rule_ids=["unused_grant"], now=RUN_TIME)
    advice = {item.scope: item for item in advise_unused_grants(con, days=10)}
    assert advice["crm.export"].actions_denied == 0


def test_advice_limited_to_alert_ids(tmp_path):
    con = fixture_warehouse(EVENTS, tmp_path)
    run_detections(con, thresholds={}, suppressions=[], boundaries={},
                   rule_ids=["unused_grant"], now=RUN_TIME)
    assert advise_unused_grants(con, alert_ids=["not-an-alert"]) == []
    alert_id = con.execute("SELECT alert_id FROM alerts").fetchone()[0]
    assert len(advise_unused_grants(con, alert_ids=[alert_id])) == 2
