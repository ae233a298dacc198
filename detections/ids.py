"""Alert ids and time parsing shared by the runner, the exporters and the tests.

An alert id is the first 32 hex digits of sha256 over "rule_id|entity_id|start|end", where
start and end are the window bounds as UTC text with microseconds
(`2026-03-01T08:00:00.000000Z`). The runner computes the same value in SQL.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime


def alert_time_text(value: datetime) -> str:
    """Format a window bound as the UTC text that alert ids hash."""
    if value.tzinfo is None:
        raise ValueError(f"window bound {value!r} has no time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_alert_id(
    rule_id: str, entity_id: str, window_start: datetime, window_end: datetime
) -> str:
    """Return the alert id of one rule, entity and window."""
    key = "|".join(
        (rule_id, entity_id, alert_time_text(window_start), alert_time_text(window_end))
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def parse_as_of(value: datetime | str) -> datetime:
    """Parse an `as_of` given as an aware datetime or ISO-8601 text with an offset, to UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"as_of {value!r} is not an ISO-8601 timestamp such as 2026-03-01T00:00:00Z"
            ) from None
    if not isinstance(value, datetime):
        raise ValueError(f"as_of must be a timestamp, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError(f"as_of {value.isoformat()} has no UTC offset; add Z or +00:00")
    return value.astimezone(UTC)
