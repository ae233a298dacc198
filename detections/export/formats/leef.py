"""IBM QRadar Log Event Extended Format (LEEF 2.0) for syslog sinks.

LEEF has no escape character. The header declares the attribute delimiter, and a value
must not contain that delimiter or a line break, so those characters, any other control
character and, in header fields, the pipe are each replaced by one space.
"""

from __future__ import annotations

from detections.export.alerts import Alert
from detections.export.errors import ExportConfigError
from detections.export.formats.common import (
    PRODUCT_NAME,
    VENDOR_NAME,
    action_name,
    iso_utc,
    product_version,
    replace_control_chars,
)

DEFAULT_DELIMITER = "^"
REPLACEMENT = " "

# LEEF sev is 1-10.
SEVERITY_LEVELS = {"info": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}

# devTime in RFC 3339 with milliseconds, declared through devTimeFormat.
DEV_TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX"


def validate_delimiter(delimiter: str) -> str:
    """Return the delimiter when LEEF can use it; '=', space, '|' and letters cannot be."""
    if len(delimiter) != 1 or delimiter in "= |" or delimiter.isalnum() or delimiter in "\r\n":
        raise ExportConfigError(
            f"invalid LEEF delimiter {delimiter!r}: use one punctuation character such as "
            "'^' or a tab"
        )
    return delimiter


def declared_delimiter(delimiter: str) -> str:
    """Return the header's delimiter field: the character itself, or x-hex for a control."""
    if ord(delimiter) < 0x20:
        return f"x{ord(delimiter):02X}"
    return delimiter


def clean_value(value: str, delimiter: str) -> str:
    value = value.replace(delimiter, REPLACEMENT)
    return replace_control_chars(value, REPLACEMENT)


def clean_header(value: str, delimiter: str) -> str:
    return clean_value(value, delimiter).replace("|", REPLACEMENT)


def attributes(alert: Alert, is_update: bool) -> list[tuple[str, str]]:
    """Return the attributes as ordered (key, unescaped value) pairs."""
    return [
        ("devTime", iso_utc(alert.last_detected_at)),
        ("devTimeFormat", DEV_TIME_FORMAT),
        ("cat", alert.entity_type),
        ("sev", str(SEVERITY_LEVELS.get(alert.severity, 5))),
        ("alertId", alert.alert_id),
        ("action", action_name(is_update)),
        ("ruleName", alert.rule_title),
        ("entityType", alert.entity_type),
        ("entityId", alert.entity_id),
        ("agentId", alert.agent_id or ""),
        ("windowStart", iso_utc(alert.window_start)),
        ("windowEnd", iso_utc(alert.window_end)),
        ("evidenceEventIds", ",".join(alert.evidence_event_ids)),
        ("mitreTechnique", ",".join(alert.technique_ids)),
        ("explanation", alert.explanation),
        ("contentHash", alert.content_hash),
    ]


def render_leef(alert: Alert, is_update: bool, delimiter: str = DEFAULT_DELIMITER) -> str:
    """Format an alert as one LEEF 2.0 line without a trailing line break."""
    header = [
        "LEEF:2.0",
        clean_header(VENDOR_NAME, delimiter),
        clean_header(PRODUCT_NAME, delimiter),
        clean_header(product_version(), delimiter),
        clean_header(alert.rule_id, delimiter),
        declared_delimiter(delimiter),
    ]
    body = delimiter.join(
        f"{key}={clean_value(value, delimiter)}" for key, value in attributes(alert, is_update)
    )
    return "|".join(header) + "|" + body
