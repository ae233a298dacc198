"""Arrow schema of quarantined messages and the helper that builds one quarantine row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

_TIMESTAMP = pa.timestamp("us", tz="UTC")

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("raw_value", pa.binary()),
        pa.field("raw_key", pa.binary()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("field", pa.string()),
        pa.field("source_topic", pa.string(), nullable=False),
        pa.field("source_partition", pa.int32(), nullable=False),
        pa.field("source_offset", pa.int64(), nullable=False),
        pa.field("message_timestamp", _TIMESTAMP),
        pa.field("quarantined_at", _TIMESTAMP, nullable=False),
    ]
)


def quarantine_row(
    *,
    value: bytes | None,
    key: bytes | None,
    reason: str,
    field: str | None,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int | None,
    quarantined_at: datetime,
) -> dict[str, Any]:
    """Return one row of QUARANTINE_SCHEMA for a message that failed validation."""
    message_time = None
    if timestamp_ms is not None and timestamp_ms >= 0:
        message_time = datetime.fromtimestamp(timestamp_ms / 1000.0, tz=UTC)
    return {
        "raw_value": value,
        "raw_key": key,
        "reason": reason,
        "field": field,
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "message_timestamp": message_time,
        "quarantined_at": quarantined_at,
    }
