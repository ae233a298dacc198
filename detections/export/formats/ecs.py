"""Elastic Common Schema documents as NDJSON for the Elasticsearch `_bulk` API.

Each alert is an `index` action line followed by its document. The action's `_id` is the
alert_id, so indexing a changed alert replaces the earlier document.
"""

from __future__ import annotations

from typing import Any

from detections.export.alerts import Alert
from detections.export.formats.common import (
    PRODUCT_NAME,
    VENDOR_NAME,
    action_name,
    iso_utc,
    product_version,
)

ECS_VERSION = "8.11.0"
DEFAULT_INDEX = "agentaudit-alerts"

# Numeric severity and risk score on the 0-100 scale Elastic Security uses for rules.
SEVERITY_SCORES = {"info": 1, "low": 21, "medium": 47, "high": 73, "critical": 99}


def render_bulk_action(alert: Alert, index: str) -> dict[str, Any]:
    return {"index": {"_index": index, "_id": alert.alert_id}}


def render_document(alert: Alert, is_update: bool) -> dict[str, Any]:
    """Map an alert to an ECS document, with the fields ECS lacks under `agentaudit`."""
    score = SEVERITY_SCORES.get(alert.severity, 47)
    document: dict[str, Any] = {
        "@timestamp": iso_utc(alert.last_detected_at),
        "ecs": {"version": ECS_VERSION},
        "message": alert.explanation,
        "event": {
            "kind": "alert",
            "category": ["iam"],
            "type": ["info"],
            "id": alert.alert_id,
            "action": alert.rule_id,
            "severity": score,
            "risk_score": float(score),
            "reason": alert.explanation,
            "start": iso_utc(alert.window_start),
            "end": iso_utc(alert.window_end),
            "created": iso_utc(alert.first_detected_at),
            "dataset": "agentaudit.alerts",
            "module": "agentaudit",
            "provider": PRODUCT_NAME,
        },
        "rule": {
            "id": alert.rule_id,
            "name": alert.rule_title,
            "ruleset": PRODUCT_NAME,
        },
        "observer": {
            "vendor": VENDOR_NAME,
            "product": PRODUCT_NAME,
            "version": product_version(),
        },
        "agentaudit": {
            "export_action": action_name(is_update),
            "severity": alert.severity,
            "entity": {"type": alert.entity_type, "id": alert.entity_id},
            "agent_id": alert.agent_id,
            "evidence_event_ids": list(alert.evidence_event_ids),
            "details": alert.details,
            "content_hash": alert.content_hash,
        },
    }
    techniques = alert.technique_ids
    if techniques:
        technique: dict[str, Any] = {"id": list(techniques)}
        if all(alert.technique_names):
            technique["name"] = list(alert.technique_names)
        document["threat"] = {"framework": "MITRE ATT&CK", "technique": technique}
    return document
