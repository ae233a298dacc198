"""The agentaudit alert as a plain JSON document: the body of HEC events and webhook posts."""

from __future__ import annotations

from typing import Any

from detections.export.alerts import Alert
from detections.export.formats.common import action_name, iso_utc


def alert_document(alert: Alert, is_update: bool) -> dict[str, Any]:
    """Map an alert to a JSON object. JSON encoding escapes every value, so none can leak."""
    return {
        "alert_id": alert.alert_id,
        "action": action_name(is_update),
        "rule_id": alert.rule_id,
        "rule_title": alert.rule_title,
        "severity": alert.severity,
        "entity_type": alert.entity_type,
        "entity_id": alert.entity_id,
        "agent_id": alert.agent_id,
        "window_start": iso_utc(alert.window_start),
        "window_end": iso_utc(alert.window_end),
        "evidence_event_ids": list(alert.evidence_event_ids),
        "explanation": alert.explanation,
        "details": alert.details,
        "mitre_techniques": list(alert.technique_ids),
        "content_hash": alert.content_hash,
        "first_detected_at": iso_utc(alert.first_detected_at),
        "last_detected_at": iso_utc(alert.last_detected_at),
    }
