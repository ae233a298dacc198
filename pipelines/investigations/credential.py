"""Trace one credential: issued for which task and by whom, used where and by whom, its end."""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.investigations.query import NotFound, fetch_dicts, relation_names

_USES = """
SELECT event_time, event_type, agent_id, principal_id, principal_type, task_id, tool, action,
       system, resource, scopes, outcome, event_id
FROM decision_events
WHERE credential_id = ?
ORDER BY event_time, event_id
"""

_ISSUE_EVENT = """
SELECT event_time, agent_id, principal_id, principal_type, on_behalf_of, initiated_by, task_id,
       auth_method, source, event_id
FROM decision_events
WHERE event_id = ?
"""

_TASK = """
SELECT task_id, agent_id, agent_kind, initiated_by, started_at, ended_at, status
FROM tasks WHERE task_id = ?
"""

# Use per task, next to the task's own end, so that a use after the task ended is visible.
_TASKS_USED = """
SELECT e.task_id, any_value(e.agent_id) AS agent_id,
       count(*) AS uses, min(e.event_time) AS first_used_at, max(e.event_time) AS last_used_at,
       any_value(t.status) AS task_status, any_value(t.ended_at) AS task_ended_at,
       count(*) FILTER (WHERE t.ended_at IS NOT NULL AND e.event_time > t.ended_at)
           AS uses_after_task_end
FROM decision_events AS e
LEFT JOIN tasks AS t ON t.task_id = e.task_id
WHERE e.credential_id = ? AND e.event_type IN ('credential_used', 'tool_invoked')
GROUP BY e.task_id
ORDER BY first_used_at
"""

_USED_BY = """
SELECT agent_id, principal_id, count(*) AS uses,
       min(event_time) AS first_used_at, max(event_time) AS last_used_at
FROM decision_events
WHERE credential_id = ? AND event_type IN ('credential_used', 'tool_invoked')
GROUP BY agent_id, principal_id
ORDER BY uses DESC, agent_id, principal_id
"""

_LIFECYCLE = """
WITH clock AS (SELECT max(event_time) AS as_of FROM decision_events),
uses AS (
    SELECT event_time FROM decision_events
    WHERE credential_id = $1 AND event_type IN ('credential_used', 'tool_invoked')
)
SELECT CASE
           WHEN c.revoked_at <= clock.as_of THEN 'revoked'
           WHEN c.expires_at <= clock.as_of THEN 'expired'
           WHEN c.is_standing THEN 'standing'
           ELSE 'active'
       END AS state,
       clock.as_of,
       (SELECT count(*) FROM uses WHERE uses.event_time > c.revoked_at) AS uses_after_revocation,
       (SELECT count(*) FROM uses WHERE uses.event_time > c.expires_at) AS uses_after_expiry,
       (SELECT count(*) FROM uses WHERE uses.event_time > t.ended_at)
           AS uses_after_issuing_task_ended
FROM credentials AS c
CROSS JOIN clock
LEFT JOIN tasks AS t ON t.task_id = c.issued_task_id
WHERE c.credential_id = $1
"""

_ALERTS = """
SELECT alert_id, rule_id, severity, entity_type, entity_id, window_start, window_end,
       explanation, evidence_event_ids, suppressed_by
FROM alerts
WHERE (entity_type = 'credential' AND entity_id = ?)
   OR list_has_any(evidence_event_ids, ?::VARCHAR[])
ORDER BY window_end DESC, alert_id
"""


def _lifecycle(con: duckdb.DuckDBPyConnection, credential_id: str) -> dict[str, Any] | None:
    """Return the credential's state as of the latest event time, and its uses past its end."""
    rows = fetch_dicts(con, _LIFECYCLE, [credential_id])
    return rows[0] if rows else None


def investigate_credential(con: duckdb.DuckDBPyConnection, credential_id: str) -> dict[str, Any]:
    """Collect the life of `credential_id`; raise NotFound when no table or event names it.

    The state (active, standing, expired, revoked) is judged as of the latest event time
    in the warehouse, the same clock the detections use.
    """
    relations = relation_names(con)
    credential: dict[str, Any] = {}
    if "credentials" in relations:
        rows = fetch_dicts(
            con, "SELECT * FROM credentials WHERE credential_id = ?", [credential_id]
        )
        credential = rows[0] if rows else {}
    uses = fetch_dicts(con, _USES, [credential_id])
    if not credential and not uses:
        raise NotFound(
            f"credential {credential_id!r} is not in the warehouse; list known credentials with: "
            "agentaudit sql \"SELECT credential_id, agent_id FROM credentials\""
        )
    issue_event_id = credential.get("issue_event_id")
    issue_event = fetch_dicts(con, _ISSUE_EVENT, [issue_event_id]) if issue_event_id else []
    result: dict[str, Any] = {
        "credential_id": credential_id,
        "credential": credential,
        # None while the credential is only in events, before the identity model is rebuilt.
        "lifecycle": _lifecycle(con, credential_id) if credential else None,
        "issue_event": issue_event[0] if issue_event else None,
        "issued_task": None,
        "tasks_used": [],
        "used_by": fetch_dicts(con, _USED_BY, [credential_id]),
        "events": uses,
        "alerts": [],
        "missing_tables": sorted({"credentials", "tasks", "alerts"} - relations),
    }
    if "tasks" in relations:
        issued_task_id = credential.get("issued_task_id")
        if issued_task_id:
            task = fetch_dicts(con, _TASK, [issued_task_id])
            result["issued_task"] = task[0] if task else None
        result["tasks_used"] = fetch_dicts(con, _TASKS_USED, [credential_id])
    if "alerts" in relations:
        event_ids = [use["event_id"] for use in uses]
        result["alerts"] = fetch_dicts(con, _ALERTS, [credential_id, event_ids])
    return result
