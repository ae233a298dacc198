"""Investigate one agent: its decisions over time, identities, credentials, scopes and alerts."""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.investigations.query import NotFound, column_names, fetch_dicts, relation_names

DEFAULT_TIMELINE_LIMIT = 200

_TIMELINE = """
SELECT event_time, event_type, task_id, principal_id, principal_type, credential_id, tool,
       action, system, resource, scopes, decision, outcome, event_id
FROM decision_events
WHERE agent_id = ?
ORDER BY event_time DESC, event_id DESC
LIMIT ?
"""

_SUMMARY = """
SELECT agent_id,
       string_agg(DISTINCT agent_kind, ', ' ORDER BY agent_kind) AS agent_kind,
       min(event_time) AS first_seen, max(event_time) AS last_seen,
       count(*) AS event_count,
       count(DISTINCT task_id) AS task_count,
       count(DISTINCT run_id) AS run_count,
       count(*) FILTER (WHERE decision = 'deny' OR outcome = 'denied') AS denied_count
FROM decision_events
WHERE agent_id = ?
GROUP BY agent_id
"""

_EVENT_TYPES = """
SELECT event_type, count(*) AS events
FROM decision_events WHERE agent_id = ?
GROUP BY event_type ORDER BY events DESC, event_type
"""

_IDENTITIES = """
SELECT principal_id, principal_type,
       string_agg(DISTINCT auth_method, ', ' ORDER BY auth_method) AS auth_methods,
       string_agg(DISTINCT on_behalf_of, ', ' ORDER BY on_behalf_of) AS on_behalf_of,
       count(*) AS events, min(event_time) AS first_seen, max(event_time) AS last_seen
FROM decision_events
WHERE agent_id = ? AND principal_id IS NOT NULL
GROUP BY principal_id, principal_type
ORDER BY events DESC, principal_id
"""

_CREDENTIALS = """
SELECT c.credential_id, c.principal_id, c.principal_type, c.auth_method, c.issued_task_id,
       c.issued_at, c.expires_at, c.is_standing, c.revoked_at, c.last_rotated_at,
       c.first_used_at, c.last_used_at, c.use_count, c.task_count,
       c.agent_id = ? AS issued_to_agent
FROM credentials AS c
WHERE c.agent_id = ?
   OR c.credential_id IN (
        SELECT credential_id FROM decision_events
        WHERE agent_id = ? AND credential_id IS NOT NULL)
ORDER BY c.issued_at NULLS LAST, c.credential_id
"""

# One row per (principal, scope): the latest grant interval beside this agent's own uses.
# Uses come from decision_events, not scope_usage, because scope_usage counts a
# principal's uses across every agent that acted as it.
_SCOPES = """
WITH latest_grant AS (
    SELECT principal_id, scope, granted_at, removed_at,
           count(*) OVER (PARTITION BY principal_id, scope) AS grant_intervals
    FROM grants
    WHERE agent_id = $agent_id
    QUALIFY row_number() OVER (
        PARTITION BY principal_id, scope ORDER BY granted_at DESC NULLS LAST) = 1
),
usage AS (
    SELECT coalesce(principal_id, agent_id) AS principal_id, scope, count(*) AS use_count,
           min(event_time) AS first_used_at, max(event_time) AS last_used_at
    FROM decision_events, unnest(scopes) AS listed(scope)
    WHERE agent_id = $agent_id
      AND event_type IN ('tool_invoked', 'credential_used')
      AND (outcome IS NULL OR outcome = 'success')
    GROUP BY ALL
)
SELECT coalesce(g.principal_id, u.principal_id) AS principal_id,
       coalesce(g.scope, u.scope) AS scope,
       g.granted_at, g.removed_at, coalesce(g.grant_intervals, 0) AS grant_intervals,
       g.scope IS NOT NULL AND g.removed_at IS NULL AS held,
       coalesce(u.use_count, 0) AS use_count, u.first_used_at, u.last_used_at
FROM latest_grant AS g
FULL OUTER JOIN usage AS u ON g.principal_id = u.principal_id AND g.scope = u.scope
ORDER BY principal_id, scope
"""

_ALERTS = """
SELECT alert_id, rule_id, severity, entity_type, entity_id, window_start, window_end,
       explanation, evidence_event_ids, suppressed_by
FROM alerts
WHERE agent_id = ? OR (entity_type = 'agent' AND entity_id = ?)
ORDER BY window_end DESC, alert_id
"""


def investigate_agent(
    con: duckdb.DuckDBPyConnection, agent_id: str, *, timeline_limit: int = DEFAULT_TIMELINE_LIMIT
) -> dict[str, Any]:
    """Collect what the warehouse records about `agent_id`; raise NotFound for an unknown id.

    The timeline holds the latest `timeline_limit` decisions, newest first. Sections whose
    table is not built yet (before the first identity or detection run) come back empty
    and are named in `missing_tables`.
    """
    summary = fetch_dicts(con, _SUMMARY, [agent_id])
    if not summary:
        raise NotFound(
            f"agent {agent_id!r} has no decision events in the warehouse; "
            "list known agents with: "
            'agentaudit sql "SELECT DISTINCT agent_id FROM decision_events"'
        )
    relations = relation_names(con)
    sections = {
        "identities": ("decision_events", _IDENTITIES, [agent_id]),
        "credentials": ("credentials", _CREDENTIALS, [agent_id] * 3),
        "scopes": ("grants", _SCOPES, {"agent_id": agent_id}),
        "alerts": ("alerts", _ALERTS, [agent_id] * 2),
    }
    result: dict[str, Any] = {
        "agent_id": agent_id,
        "summary": summary[0],
        "event_types": fetch_dicts(con, _EVENT_TYPES, [agent_id]),
        "missing_tables": [],
    }
    for name, (table, sql, params) in sections.items():
        if table in relations:
            result[name] = fetch_dicts(con, sql, params)
        else:
            result[name] = []
            result["missing_tables"].append(table)
    # access_map columns belong to the identity model; only its agent_id column is assumed.
    if "agent_id" in column_names(con, "access_map"):
        result["access_map"] = fetch_dicts(
            con, "SELECT * FROM access_map WHERE agent_id = ? ORDER BY ALL", [agent_id]
        )
    else:
        result["access_map"] = []
        result["missing_tables"].append("access_map")
    result["timeline"] = fetch_dicts(con, _TIMELINE, [agent_id, timeline_limit])
    result["timeline_limit"] = timeline_limit
    return result
