"""OCSF 1.3 Detection Finding (class_uid 2004, category Findings) as one JSON object per line.

A first delivery is activity Create (1). A changed alert is activity Update (2) with the
same `finding_info.uid`, so an OCSF consumer folds both into one finding.
"""

from __future__ import annotations

from typing import Any

from detections.export.alerts import Alert
from detections.export.formats.common import (
    PRODUCT_NAME,
    VENDOR_NAME,
    epoch_millis,
    product_version,
)

OCSF_VERSION = "1.3.0"
CATEGORY_UID = 2  # Findings
CLASS_UID = 2004  # Detection Finding
ACTIVITY_CREATE = 1
ACTIVITY_UPDATE = 2
ACTIVITY_NAMES = {ACTIVITY_CREATE: "Create", ACTIVITY_UPDATE: "Update"}

# OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
SEVERITY_IDS = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAMES = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}

STATUS_NEW = 1
ANALYTIC_TYPE_RULE = 1


def type_uid(activity_id: int) -> int:
    return CLASS_UID * 100 + activity_id


def render_finding(alert: Alert, is_update: bool) -> dict[str, Any]:
    """Map an alert to an OCSF Detection Finding."""
    activity_id = ACTIVITY_UPDATE if is_update else ACTIVITY_CREATE
    severity_id = SEVERITY_IDS.get(alert.severity, 0)
    finding_info: dict[str, Any] = {
        "uid": alert.alert_id,
        "title": alert.rule_title,
        "desc": alert.explanation,
        "types": [alert.rule_id],
        "created_time": epoch_millis(alert.first_detected_at),
        "modified_time": epoch_millis(alert.last_detected_at),
        "first_seen_time": epoch_millis(alert.window_start),
        "last_seen_time": epoch_millis(alert.window_end),
        "analytic": {
            "uid": alert.rule_id,
            "name": alert.rule_title,
            "type_id": ANALYTIC_TYPE_RULE,
            "type": "Rule",
        },
        "related_events_count": len(alert.evidence_event_ids),
    }
    techniques = alert.technique_ids
    if techniques:
        finding_info["attacks"] = [
            {"technique": _technique(uid, name)}
            for uid, name in zip(techniques, alert.technique_names, strict=True)
        ]
    return {
        "activity_id": activity_id,
        "activity_name": ACTIVITY_NAMES[activity_id],
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": type_uid(activity_id),
        "type_name": f"Detection Finding: {ACTIVITY_NAMES[activity_id]}",
        "severity_id": severity_id,
        "severity": SEVERITY_NAMES.get(severity_id, "Unknown"),
        "status_id": STATUS_NEW,
        "status": "New",
        "is_alert": True,
        "time": epoch_millis(alert.last_detected_at),
        "start_time": epoch_millis(alert.window_start),
        "end_time": epoch_millis(alert.window_end),
        "message": alert.explanation,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": f"{alert.alert_id}:{alert.content_hash[:16]}",
            "log_name": "agentaudit.alerts",
            "product": {
                "name": PRODUCT_NAME,
                "vendor_name": VENDOR_NAME,
                "version": product_version(),
            },
        },
        "finding_info": finding_info,
        "resources": [{"uid": alert.entity_id, "type": alert.entity_type}],
        "evidences": [{"data": {"event_ids": list(alert.evidence_event_ids)}}],
        "unmapped": {
            "agent_id": alert.agent_id,
            "details": alert.details,
            "content_hash": alert.content_hash,
        },
    }


def _technique(uid: str, name: str | None) -> dict[str, str]:
    technique = {"uid": uid}
    if name:
        technique["name"] = name
    return technique
