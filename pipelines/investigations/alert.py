"""Open one alert: the alert row, its evidence events, deliveries and the rule's runbook."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb
import yaml

from detections.catalog import RULES_DIR
from pipelines.investigations.query import NotFound, fetch_dicts, parse_json_text, relation_names

log = logging.getLogger(__name__)


# Fields of rule.yaml that help an analyst triage; fixtures and thresholds stay out.
RULE_FIELDS = (
    "title",
    "description",
    "rationale",
    "runbook",
    "false_positives",
    "mitre_attack",
    "references",
)

_EVIDENCE = """
SELECT event_time, event_type, agent_id, task_id, principal_id, principal_type, on_behalf_of,
       credential_id, tool, action, system, resource, scopes, decision, outcome, event_id
FROM decision_events
WHERE list_contains(?::VARCHAR[], event_id)
ORDER BY event_time, event_id
"""


def rule_metadata(rule_id: str, rules_dir: Path = RULES_DIR) -> dict[str, Any] | None:
    """Read the analyst-facing fields of `rules_dir/<rule_id>/rule.yaml`, or None without one."""
    path = rules_dir / rule_id / "rule.yaml"
    if not path.is_file():
        return None
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        log.warning("cannot read rule metadata %s for alert triage: %s", path, exc)
        return None
    if not isinstance(loaded, dict):
        return None
    return {name: loaded.get(name) for name in RULE_FIELDS if loaded.get(name) is not None}


def investigate_alert(
    con: duckdb.DuckDBPyConnection, alert_id: str, *, rules_dir: Path = RULES_DIR
) -> dict[str, Any]:
    """Collect one alert with its evidence and runbook; raise NotFound for an unknown id."""
    relations = relation_names(con)
    if "alerts" not in relations:
        raise NotFound(
            "the warehouse has no alerts table yet: run the agentaudit_pipeline job first"
        )
    rows = fetch_dicts(con, "SELECT * FROM alerts WHERE alert_id = ?", [alert_id])
    if not rows:
        raise NotFound(
            f"alert {alert_id!r} is not in the warehouse; list recent alerts with: "
            "agentaudit sql \"SELECT alert_id, rule_id, entity_id FROM alerts "
            "ORDER BY window_end DESC LIMIT 20\""
        )
    alert = rows[0]
    alert["details"] = parse_json_text(alert.get("details"))
    evidence_ids = alert.get("evidence_event_ids") or []
    evidence = fetch_dicts(con, _EVIDENCE, [evidence_ids])
    found = {event["event_id"] for event in evidence}
    deliveries = []
    if "deliveries" in relations:
        deliveries = fetch_dicts(
            con, "SELECT * FROM deliveries WHERE alert_id = ? ORDER BY sink", [alert_id]
        )
    return {
        "alert_id": alert_id,
        "alert": alert,
        "evidence": evidence,
        "missing_evidence_ids": [event_id for event_id in evidence_ids if event_id not in found],
        "rule": rule_metadata(alert["rule_id"], rules_dir),
        "deliveries": deliveries,
    }
