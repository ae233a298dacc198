"""Least-privilege advice for unused_grant alerts, from a replay of stored events.

For each unused scope listed by an unused_grant alert, the replay reads the principal's
events of the last `days` days before as_of and counts those whose `scopes` list contains
the scope. Such an event is an action that would have been denied had the scope been
removed, including failed and denied attempts and policy evaluations, which the rule's
definition of use does not count. Grant and credential lifecycle events list scopes
granted or carried rather than exercised, so the replay leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from detections.ids import parse_as_of

DEFAULT_REPLAY_DAYS = 90

# Events that name scopes without exercising them.
NON_ACTION_EVENT_TYPES = (
    "grant_added",
    "grant_removed",
    "credential_issued",
    "credential_revoked",
    "credential_rotated",
)

ADVICE_SQL = """
WITH
alert_scopes AS (
    SELECT a.alert_id, a.entity_id AS principal_id, a.agent_id,
           json_extract_string(s.value, '$.scope') AS scope
    FROM alerts AS a, json_each(a.details, '$.unused_scopes') AS s
    WHERE a.rule_id = 'unused_grant'
      AND ($alert_ids IS NULL OR list_contains($alert_ids, a.alert_id))
),
replayed AS (
    SELECT s.alert_id, s.scope,
           count(e.event_id) AS actions,
           min(e.event_id) AS example_event_id,
           max(e.event_time) AS last_action_at,
           list(DISTINCT e.event_type ORDER BY e.event_type)
               FILTER (WHERE e.event_type IS NOT NULL) AS event_types
    FROM alert_scopes AS s
    LEFT JOIN decision_events AS e
      ON coalesce(e.principal_id, e.agent_id) = s.principal_id
     AND e.event_time > $as_of::TIMESTAMPTZ - to_days(CAST($days AS INTEGER))
     AND e.event_time <= $as_of::TIMESTAMPTZ
     AND NOT list_contains($non_action_types, e.event_type)
     AND list_contains(e.scopes, s.scope)
    GROUP BY s.alert_id, s.scope
)
SELECT s.alert_id, s.principal_id, s.agent_id, s.scope, r.actions, r.example_event_id,
       r.last_action_at, coalesce(r.event_types, [])
FROM alert_scopes AS s
JOIN replayed AS r USING (alert_id, scope)
ORDER BY s.principal_id, s.scope
"""


@dataclass(frozen=True)
class ScopeAdvice:
    """Whether removing one unused scope would have denied any replayed action."""

    alert_id: str
    principal_id: str
    agent_id: str | None
    scope: str
    actions_denied: int
    example_event_id: str | None
    last_action_at: datetime | None
    event_types: tuple[str, ...]

    @property
    def safe_to_remove(self) -> bool:
        return self.actions_denied == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "principal_id": self.principal_id,
            "agent_id": self.agent_id,
            "scope": self.scope,
            "safe_to_remove": self.safe_to_remove,
            "actions_denied": self.actions_denied,
            "example_event_id": self.example_event_id,
            "last_action_at": self.last_action_at.isoformat() if self.last_action_at else None,
            "event_types": list(self.event_types),
        }


def advise_unused_grants(
    con: duckdb.DuckDBPyConnection,
    *,
    days: int = DEFAULT_REPLAY_DAYS,
    as_of: datetime | str | None = None,
    alert_ids: list[str] | None = None,
) -> list[ScopeAdvice]:
    """Replay the last `days` days of events for every scope of the unused_grant alerts.

    `as_of` defaults to the latest event_time; `alert_ids` limits the replay to those
    alerts. Returns one ScopeAdvice per (alert, scope), ordered by principal and scope.
    Reads only, so a read-only connection is enough.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise ValueError(f"days must be a positive whole number, got {days!r}")
    if as_of is None:
        latest = con.execute("SELECT max(event_time) FROM decision_events").fetchone()[0]
        if latest is None:
            return []
        resolved = latest
    else:
        resolved = parse_as_of(as_of)
    rows = con.execute(
        ADVICE_SQL,
        {
            "as_of": resolved,
            "days": days,
            "alert_ids": alert_ids,
            "non_action_types": list(NON_ACTION_EVENT_TYPES),
        },
    ).fetchall()
    return [
        ScopeAdvice(
            alert_id=row[0],
            principal_id=row[1],
            agent_id=row[2],
            scope=row[3],
            actions_denied=row[4],
            example_event_id=row[5],
            last_action_at=row[6],
            event_types=tuple(row[7]),
        )
        for row in rows
    ]
