"""Pieces shared by the source mappers: rejected records, derived ids, truncation, timestamps."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# A mapped value larger than this (as compact JSON) is replaced by a summary in attributes,
# so that one huge request cannot push an event past the ingest message limit.
MAX_ATTRIBUTE_BYTES = 16_384
PREVIEW_CHARS = 512

# Prefix of the quarantine marker that importers put in front of a record they cannot map.
# The bytes after the marker line are the original record. The whole message is not valid
# JSON, so the ingest worker stores it in quarantine with these bytes intact.
QUARANTINE_MARKER = b"agentaudit-unmappable-record"


@dataclass(frozen=True)
class Rejected:
    """One source record that could not be mapped to any event, with the reason and origin."""

    raw: bytes
    reason: str
    origin: str

    def quarantine_message(self) -> bytes:
        """Return the Kafka message value that carries this record to quarantine."""
        header = f"{self.reason} ({self.origin})".replace("\n", " ")
        return QUARANTINE_MARKER + b": " + header.encode("utf-8") + b"\n" + self.raw


def as_object(value: Any) -> dict[str, Any]:
    """Return `value` when it is a JSON object, else an empty dict (for null or odd types)."""
    return value if isinstance(value, dict) else {}


def as_text(value: Any) -> str | None:
    """Return `value` stripped when it is a non-blank string, else None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def raw_bytes(record: Any) -> bytes:
    """Return a record as compact JSON bytes, or its repr when it is not JSON-serialisable."""
    try:
        return json.dumps(record, separators=(",", ":"), sort_keys=True).encode("utf-8")
    except (TypeError, ValueError):
        return repr(record).encode("utf-8", errors="replace")


def digest(*parts: str, length: int = 16) -> str:
    """Return the first `length` hex digits of sha256 over the parts joined by '|'."""
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:length]


def isoformat(moment: datetime) -> str:
    """Format a UTC datetime as ISO-8601 with a Z suffix and microseconds when present."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_iso_utc(value: Any) -> datetime | None:
    """Parse an ISO-8601 timestamp; a value without an offset is taken as UTC. None if invalid."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def bounded(value: Any, *, limit: int = MAX_ATTRIBUTE_BYTES) -> tuple[Any, bool]:
    """Return `value` unchanged, or a summary when its compact JSON exceeds `limit` bytes.

    The summary keeps the size, a sha256 of the full text and a short preview, and the
    second item of the result is True when the value was replaced.
    """
    if value is None or isinstance(value, bool | int | float):
        return value, False
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    size = len(text.encode("utf-8"))
    if size <= limit:
        return value, False
    summary = {
        "truncated": True,
        "size_bytes": size,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "preview": text[:PREVIEW_CHARS],
        "note": f"value over {limit} bytes replaced by this summary at import",
    }
    return summary, True


def record_rejection(
    source: str,
    rejected: Rejected,
    stats: Any,
    on_reject: Callable[[Rejected], None] | None,
) -> None:
    """Count a rejected record in `stats` (its `rejected` and `reasons` fields), log it, and
    hand it to `on_reject`, which sends it to quarantine."""
    stats.rejected += 1
    stats.reasons[rejected.reason] = stats.reasons.get(rejected.reason, 0) + 1
    logging.getLogger(f"pipelines.sources.{source}").info(
        "%s: rejected %s: %s", source, rejected.origin, rejected.reason
    )
    if on_reject is not None:
        on_reject(rejected)
