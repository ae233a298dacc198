"""Values every format shares: product identity, severity scales and time encodings."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import metadata

PRODUCT_NAME = "agentaudit"
VENDOR_NAME = "agentaudit"

CREATE = "create"
UPDATE = "update"

SEVERITIES = ("info", "low", "medium", "high", "critical")


@cache
def product_version() -> str:
    try:
        return metadata.version("agentaudit")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def action_name(is_update: bool) -> str:
    return UPDATE if is_update else CREATE


def epoch_millis(value: datetime) -> int:
    return int(value.astimezone(UTC).timestamp() * 1000)


def iso_utc(value: datetime) -> str:
    """Format a timestamp as RFC 3339 in UTC with millisecond precision and a Z suffix."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def replace_control_chars(value: str, replacement: str, keep: str = "") -> str:
    """Replace C0 control characters and DEL, except those in `keep`, with `replacement`."""
    return "".join(
        replacement if (ord(char) < 0x20 or ord(char) == 0x7F) and char not in keep else char
        for char in value
    )
