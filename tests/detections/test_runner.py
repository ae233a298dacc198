"""The runner: idempotent upserts, deterministic ids, suppressions, statuses and thresholds.

Each test builds a real DuckDB warehouse with the transforms from a few rule fixtures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detections.catalog import ThresholdError, load_rule, load_rules
from detections.ids import compute_alert_id
from detections.runner import RuleRunError, run_detections
from detections.suppressions import SuppressionError
from tests.detections.helpers import RUN_TIME, fixture_warehouse

RULES = {rule.id: rule for rule in load_rules()}


def _events(*rule_ids: str) -> list[dict]:
    """Return the events of every must-alert fixture of `rule_ids`."""
    events = []
    for rule_id in rule_ids:
        for fixture in RULES[rule_id].fixtures:
            if fixture.must_alert:
                events.extend(fixture.events)
    return events


def _alerts(con) -> list[tuple]:
    return con.execute(
        "SELECT alert_id, rule_id, entity_id, window_start, window_end, evidence_event_ids, "
        "content_hash, first_detected_at, last_detected_at, suppressed_by, details::VARCHAR "
        "FROM alerts ORDER BY alert_id"
    ).fetchall()


def _run(con, **overrides):
    arguments = {"thresholds": {}, "suppressions": [], "boundaries": {}, "now": RUN_TIME}
    arguments.update(overrides)
    return run_detections(con, **arguments)


@pytest.fixture
def warehouse(tmp_path):
    events = _events("blended_identity", "policy_denial_burst", "secret_in_event",
                     "sensitive_action_without_approval")
    return fixture_warehouse(events, tmp_path)


def test_rerun_gives_same_alerts(warehouse):
    first = _run(warehouse)
    before = _alerts(warehouse)
    second = _run(warehouse, now=RUN_TIME + timedelta(hours=1))
    after = _alerts(warehouse)
    assert first.new == first.total > 0
    assert second.new == 0
    assert second.unchanged == first.total
    assert second.updated == 0
    # Everything but last_detected_at stays; last_detected_at records the latest run.
    assert [row[:8] + row[9:] for row in after] == [row[:8] + row[9:] for row in before]
    assert {row[8] for row in after} == {RUN_TIME + timedelta(hours=1)}


def test_alert_ids_follow_rule_entity_window(warehouse):
    _run(warehouse)
    for alert_id, rule_id, entity_id, start, end, *_ in _alerts(warehouse):
        assert alert_id == compute_alert_id(rule_id, entity_id, start, end)


def test_alert_ids_same_in_new_warehouse(tmp_path):
    events = _events("credential_outlives_task", "privilege_creep")
    first = fixture_warehouse(events, tmp_path / "one")
    second = fixture_warehouse(list(reversed(events)), tmp_path / "two")
    _run(first)
    _run(second, now=RUN_TIME + timedelta(days=3))
    ids_first = [(row[0], row[6]) for row in _alerts(first)]
    ids_second = [(row[0], row[6]) for row in _alerts(second)]
    assert ids_first == ids_second
    assert len(ids_first) == 8


def test_backfill_never_duplicates(warehouse):
    _run(warehouse)
    count = warehouse.execute("SELECT count(*) FROM alerts").fetchone()[0]
    latest = warehouse.execute("SELECT max(event_time) FROM decision_events").fetchone()[0]
    _run(warehouse, as_of=latest + timedelta(days=2))
    _run(warehouse, as_of=latest)
    assert warehouse.execute("SELECT count(*) FROM alerts").fetchone()[0] == count


def test_evidence_sorted_and_grouped(warehouse):
    _run(warehouse)
    for row in _alerts(warehouse):
        evidence = row[5]
        assert evidence == sorted(set(evidence))
        assert evidence


def test_suppression_marks_matching_alert(warehouse):
    suppression = {
        "id": "sup-burst", "rule_id": "policy_denial_burst", "entity_id": "dev_assistant-*",
        "owner": "secops@example.com", "reason": "load test", "expires": "2031-01-01",
    }
    result = _run(warehouse, suppressions=[suppression])
    rows = warehouse.execute(
        "SELECT entity_id, suppressed_by FROM alerts WHERE rule_id = 'policy_denial_burst' "
        "ORDER BY entity_id"
    ).fetchall()
    assert rows == [("dev_assistant-01", "sup-burst"), ("support_bot-01", None)]
    assert result.suppressed == 1


def test_expired_suppression_ignored_and_logged(warehouse, caplog):
    suppression = {
        "id": "sup-old", "rule_id": "policy_denial_burst", "entity_id": "*",
        "owner": "secops@example.com", "reason": "expired exception", "expires": "2029-12-31",
    }
    _run(warehouse, suppressions=[{**suppression, "expires": "2031-01-01"}])
    assert warehouse.execute(
        "SELECT count(*) FROM alerts WHERE suppressed_by = 'sup-old'"
    ).fetchone()[0] == 2
    result = _run(warehouse, suppressions=[suppression])
    assert result.expired_suppressions == 1
    assert result.suppressed == 0
    assert warehouse.execute(
        "SELECT count(*) FROM alerts WHERE suppressed_by IS NOT NULL"
    ).fetchone()[0] == 0
    assert "sup-old" in caplog.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rule_id", "no_such_rule", "names no rule"),
        ("owner", None, "owner is missing"),
        ("expires", "next week", "not an ISO-8601"),
        ("entity_id", None, "needs entity_id or agent_id"),
    ],
)
def test_invalid_suppression_rejected(warehouse, field, value, message):
    suppression = {
        "id": "sup-bad", "rule_id": "policy_denial_burst", "entity_id": "*",
        "owner": "secops@example.com", "reason": "r", "expires": "2031-01-01",
    }
    suppression[field] = value
    with pytest.raises(SuppressionError, match=message):
        _run(warehouse, suppressions=[suppression])


def test_experimental_status_written(warehouse):
    _run(warehouse)
    statuses = dict(warehouse.execute(
        "SELECT DISTINCT rule_id, rule_status FROM alerts"
    ).fetchall())
    assert statuses["policy_denial_burst"] == "experimental"
    assert statuses["blended_identity"] == "stable"
    exported = warehouse.execute(
        "SELECT count(*) FROM alerts WHERE rule_status = 'stable' AND suppressed_by IS NULL "
        "AND rule_id = 'policy_denial_burst'"
    ).fetchone()[0]
    assert exported == 0


def test_threshold_override_changes_result(warehouse):
    _run(warehouse, thresholds={"policy_denial_burst": {"min_denials": 6}},
         rule_ids=["policy_denial_burst"])
    assert warehouse.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    result = _run(warehouse, rule_ids=["policy_denial_burst"])
    assert result.alerts_per_rule == {"policy_denial_burst": 2}


def test_unknown_threshold_rejected(warehouse):
    with pytest.raises(ThresholdError, match="detections.policy_denial_burst.min_denial "):
        _run(warehouse, thresholds={"policy_denial_burst": {"min_denial": 3}})


def test_unknown_rule_id_rejected(warehouse):
    with pytest.raises(RuleRunError, match="unknown rule id"):
        _run(warehouse, rule_ids=["no_such_rule"])


def test_severity_from_data_classification(warehouse):
    _run(warehouse, rule_ids=["sensitive_action_without_approval"])
    severities = dict(warehouse.execute(
        "SELECT entity_id, severity FROM alerts"
    ).fetchall())
    # task-bi-1 comes from the blended_identity fixture: an unapproved confidential export.
    assert severities == {
        "task-sa-1": "high", "support_bot-02": "medium", "task-sa-3": "medium",
        "task-bi-1": "medium",
    }


def test_entity_type_agent_for_actions_without_task(warehouse):
    _run(warehouse, rule_ids=["sensitive_action_without_approval"])
    types = dict(warehouse.execute("SELECT entity_id, entity_type FROM alerts").fetchall())
    assert types["support_bot-02"] == "agent"
    assert types["task-sa-1"] == "task"


def test_empty_warehouse_runs_no_rule(tmp_path):
    con = fixture_warehouse(
        [{"event_id": "only", "schema_version": "1", "event_type": "task_started",
          "event_time": "2026-03-01T00:00:00Z", "agent_id": "a-1"}],
        tmp_path,
    )
    con.execute("DELETE FROM decision_events")
    result = _run(con)
    assert result.rules_run == 0
    assert con.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0


def test_rule_with_bad_output_names_rule(warehouse, tmp_path):
    source = RULES["secret_in_event"].path.parent
    broken = tmp_path / "rules" / "secret_in_event"
    broken.mkdir(parents=True)
    (broken / "rule.yaml").write_text((source / "rule.yaml").read_text())
    (broken / "rule.sql").write_text(
        "-- Broken on purpose.\nSELECT 'agent' AS entity_type FROM decision_events "
        "WHERE event_time <= $as_of"
    )
    rule = load_rule(broken)
    with pytest.raises(RuleRunError, match="rule secret_in_event returns columns"):
        _run(warehouse, rules=[rule])
    # The failed run rolled back and left no table half-written.
    assert warehouse.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0


def test_as_of_without_offset_rejected(warehouse):
    with pytest.raises(ValueError, match="no UTC offset"):
        _run(warehouse, as_of="2026-03-01T00:00:00")
    result = _run(warehouse, as_of=datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert result.as_of == "2026-03-01T12:00:00+00:00"
