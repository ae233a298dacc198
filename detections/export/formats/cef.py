"""ArcSight Common Event Format (CEF 0) for syslog sinks.

Escaping follows the CEF specification: in the header a backslash and a pipe are escaped
with a backslash; in the extension a backslash and '=' are escaped and a line break is
written as the two characters \\n or \\r. The header has no escape for line breaks, so they
become a space there. Other control characters, NUL included, become U+FFFD in every field.
"""

from __future__ import annotations

from detections.export.alerts import Alert
from detections.export.formats.common import (
    PRODUCT_NAME,
    VENDOR_NAME,
    action_name,
    epoch_millis,
    product_version,
    replace_control_chars,
)

REPLACEMENT = "\ufffd"

# CEF severity 0-10.
SEVERITY_LEVELS = {"info": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}

# Custom string fields: (label, value key), in the order they appear.
CUSTOM_STRINGS = (
    ("entityType", "entity_type"),
    ("entityId", "entity_id"),
    ("agentId", "agent_id"),
    ("evidenceEventIds", "evidence_event_ids"),
    ("mitreTechnique", "mitre_technique"),
    ("contentHash", "content_hash"),
)


def escape_header(value: str) -> str:
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    value = value.replace("\r", " ").replace("\n", " ")
    return replace_control_chars(value, REPLACEMENT)


def escape_extension_value(value: str) -> str:
    value = value.replace("\\", "\\\\").replace("=", "\\=")
    value = value.replace("\r", "\\r").replace("\n", "\\n")
    return replace_control_chars(value, REPLACEMENT)


def extension_fields(alert: Alert, is_update: bool) -> list[tuple[str, str]]:
    """Return the extension as ordered (key, unescaped value) pairs."""
    values = {
        "entity_type": alert.entity_type,
        "entity_id": alert.entity_id,
        "agent_id": alert.agent_id or "",
        "evidence_event_ids": ",".join(alert.evidence_event_ids),
        "mitre_technique": ",".join(alert.technique_ids),
        "content_hash": alert.content_hash,
    }
    fields = [
        ("rt", str(epoch_millis(alert.last_detected_at))),
        ("start", str(epoch_millis(alert.window_start))),
        ("end", str(epoch_millis(alert.window_end))),
        ("externalId", alert.alert_id),
        ("act", action_name(is_update)),
        ("cat", alert.entity_type),
        ("msg", alert.explanation),
    ]
    for index, (label, key) in enumerate(CUSTOM_STRINGS, start=1):
        fields.append((f"cs{index}Label", label))
        fields.append((f"cs{index}", values[key]))
    return fields


def render_cef(alert: Alert, is_update: bool) -> str:
    """Format an alert as one CEF line without a trailing line break."""
    header = [
        "CEF:0",
        escape_header(VENDOR_NAME),
        escape_header(PRODUCT_NAME),
        escape_header(product_version()),
        escape_header(alert.rule_id),
        escape_header(alert.rule_title),
        str(SEVERITY_LEVELS.get(alert.severity, 5)),
    ]
    extension = " ".join(
        f"{key}={escape_extension_value(value)}"
        for key, value in extension_fields(alert, is_update)
    )
    return "|".join(header) + "|" + extension
