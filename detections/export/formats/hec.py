"""Splunk HTTP Event Collector event envelopes around the native alert document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from detections.export.alerts import Alert
from detections.export.formats.native import alert_document

DEFAULT_SOURCETYPE = "agentaudit:alert"
DEFAULT_SOURCE = "agentaudit"


def render_hec_event(alert: Alert, is_update: bool, options: Mapping[str, Any]) -> bytes:
    """Return one HEC event object. The events of a batch are concatenated in one request."""
    envelope: dict[str, Any] = {
        "time": round(alert.last_detected_at.timestamp(), 3),
        "source": options.get("source", DEFAULT_SOURCE),
        "sourcetype": options.get("sourcetype", DEFAULT_SOURCETYPE),
        "event": alert_document(alert, is_update),
    }
    if options.get("index"):
        envelope["index"] = options["index"]
    if options.get("host"):
        envelope["host"] = options["host"]
    return json.dumps(envelope, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"
