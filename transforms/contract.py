"""Event contract version 1: the fields of a decision event, its Arrow schema and validation.

The producer, the ingest worker, the loader and the tests share this one definition.
`normalize_event` turns one decoded JSON object into a row that fits `EVENT_SCHEMA`, or
raises `InvalidEvent` with a reason that the ingest worker stores in quarantine.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from transforms.redaction import may_contain_secret, redact_record

SCHEMA_VERSION = "1"

EVENT_TYPES = (
    "task_started",
    "task_completed",
    "task_failed",
    "tool_selected",
    "tool_invoked",
    "credential_issued",
    "credential_used",
    "credential_revoked",
    "credential_rotated",
    "grant_added",
    "grant_removed",
    "policy_evaluated",
    "approval_granted",
)
PRINCIPAL_TYPES = ("delegated_user", "service_account", "workload", "agent")
ACTIONS = ("read", "write", "delete", "export", "admin", "execute")
DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
DECISIONS = ("allow", "deny", "not_evaluated")
OUTCOMES = ("success", "failure", "denied")

# Default limits; the ingest worker passes the configured values.
DEFAULT_MAX_MESSAGE_BYTES = 1_048_576
DEFAULT_MAX_FUTURE_SKEW = timedelta(hours=24)
EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Field:
    """One field of the contract: its name, value kind, whether it is required, its enum values."""

    name: str
    kind: str  # string, identity, enum, timestamp, int, string_list, object
    required: bool = False
    values: tuple[str, ...] = ()
    description: str = ""


FIELDS: tuple[Field, ...] = (
    Field("event_id", "identity", True, description="unique id; the deduplication key"),
    Field("schema_version", "string", True, description='contract version, "1"'),
    Field("event_time", "timestamp", True, description="when the decision happened, in UTC"),
    Field("event_type", "enum", True, EVENT_TYPES, "what kind of decision or step this is"),
    Field("agent_id", "identity", True, description="the agent (workload) that decided"),
    Field("agent_kind", "string", description="class of agent, e.g. support_bot"),
    Field("run_id", "identity", description="one agent run or session"),
    Field("task_id", "identity", description="the task this step serves"),
    Field("parent_event_id", "identity", description="the step before this one in the chain"),
    Field("step", "int", description="position in the decision chain"),
    Field("initiated_by", "identity", description="who asked for the task"),
    Field("principal_id", "identity", description="identity the action executed under"),
    Field("principal_type", "enum", values=PRINCIPAL_TYPES, description="kind of principal"),
    Field("on_behalf_of", "identity", description="the human behind delegated authority"),
    Field("auth_method", "string", description="e.g. oauth_delegated, api_key"),
    Field("credential_id", "identity", description="opaque credential id, never the secret"),
    Field("credential_issued_at", "timestamp", description="when the credential was issued"),
    Field("credential_expires_at", "timestamp", description="expiry; null means standing"),
    Field("tool", "string", description="the tool chosen, e.g. crm.update_contact"),
    Field("action", "enum", values=ACTIONS, description="read, write, delete, export, ..."),
    Field("resource", "string", description="what was touched"),
    Field("system", "string", description="the system that stores the resource"),
    Field("data_classification", "enum", values=DATA_CLASSIFICATIONS, description="sensitivity"),
    Field("scopes", "string_list", description="scopes used, granted or removed"),
    Field("policy_id", "string", description="the policy evaluated"),
    Field("decision", "enum", values=DECISIONS, description="the policy decision"),
    Field("reason", "string", description="why the policy decided so"),
    Field("approval_id", "identity", description="explicit approval behind a sensitive action"),
    Field("outcome", "enum", values=OUTCOMES, description="success, failure or denied"),
    Field("source", "string", description="the emitter"),
    Field("tenant", "string", description="tenant context"),
    Field("environment", "string", description="environment context, e.g. prod"),
    Field("attributes", "object", description="every field outside the contract"),
)
FIELDS_BY_NAME = {field.name: field for field in FIELDS}
REQUIRED_FIELDS = tuple(field.name for field in FIELDS if field.required)
IDENTITY_FIELDS = tuple(field.name for field in FIELDS if field.kind == "identity")

_TIMESTAMP = pa.timestamp("us", tz="UTC")
_ARROW_TYPES = {
    "string": pa.string(),
    "identity": pa.string(),
    "enum": pa.string(),
    "timestamp": _TIMESTAMP,
    "int": pa.int64(),
    "string_list": pa.list_(pa.string()),
    "object": pa.string(),  # JSON text, keys sorted
}

# Lineage columns that the ingest worker adds to every stored row.
LINEAGE_SCHEMA = pa.schema(
    [
        pa.field("redacted_fields", pa.list_(pa.string())),
        pa.field("source_topic", pa.string()),
        pa.field("source_partition", pa.int32()),
        pa.field("source_offset", pa.int64()),
        pa.field("ingested_at", _TIMESTAMP),
    ]
)

EVENT_SCHEMA = pa.schema(
    [pa.field(f.name, _ARROW_TYPES[f.kind], nullable=not f.required) for f in FIELDS]
    + list(LINEAGE_SCHEMA)
)


# Control characters (C0, DEL, C1) and the invisible format characters of Unicode
# (zero-width spaces and joiners, directional marks and overrides, word joiners, BOM).
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


class InvalidEvent(ValueError):
    """A message that does not meet the contract; `reason` goes to quarantine."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidEvent(f"duplicate key {key!r} in one JSON object", key)
        result[key] = value
    return result


def _reject_constant(name: str) -> float:
    raise InvalidEvent(f"invalid JSON: {name} is not a JSON number")


def decode_message(value: bytes | None, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> dict:
    """Decode one Kafka message value into a JSON object, or raise InvalidEvent.

    Rejects empty and oversized messages, bytes that are not UTF-8, invalid JSON, a key
    repeated inside one object, and a top-level value that is not an object.
    """
    if value is None or len(value) == 0:
        raise InvalidEvent("empty message")
    if len(value) > max_bytes:
        raise InvalidEvent(f"message is {len(value)} bytes, over the limit of {max_bytes}")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"message is not valid UTF-8 at byte {exc.start}") from None
    if not text.strip():
        raise InvalidEvent("empty message")
    try:
        decoded = json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except InvalidEvent:
        raise
    except RecursionError:
        raise InvalidEvent("invalid JSON: nested too deeply") from None
    except ValueError as exc:
        if not isinstance(exc, json.JSONDecodeError):
            # Python rejects integers of more than 4300 digits with a plain ValueError.
            raise InvalidEvent(f"invalid JSON: {str(exc)[:120]}") from None
        raise InvalidEvent(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(decoded, dict):
        raise InvalidEvent(f"JSON value is {type(decoded).__name__}, expected an object")
    return decoded


def parse_timestamp(value: Any, field: str) -> datetime:
    """Parse an ISO-8601 timestamp with a UTC offset, or integer epoch milliseconds, to UTC.

    A timestamp with no offset is rejected, because its zone cannot be known.
    """
    if isinstance(value, bool):
        raise InvalidEvent(f"{field} must be an ISO-8601 timestamp, got a boolean", field)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidEvent(f"{field} is not a finite number", field)
        try:
            return datetime.fromtimestamp(value / 1000.0, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidEvent(f"{field} epoch milliseconds {value} out of range", field) from None
    if not isinstance(value, str):
        raise InvalidEvent(
            f"{field} must be an ISO-8601 timestamp, got {type(value).__name__}", field
        )
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidEvent(f"{field} is not an ISO-8601 timestamp: {value[:64]!r}", field) from None
    if parsed.tzinfo is None:
        raise InvalidEvent(f"{field} has no UTC offset: {value[:64]!r}", field)
    return parsed.astimezone(UTC)


def _clean_identity(value: Any, field: Field) -> str | None:
    if not isinstance(value, str):
        raise InvalidEvent(f"{field.name} must be a string, got {type(value).__name__}", field.name)
    # NFC so that one identity typed in two normalisation forms compares equal.
    cleaned = unicodedata.normalize("NFC", value.strip())
    if _INVISIBLE.search(cleaned):
        # Control and zero-width characters would make one identity look like two.
        raise InvalidEvent(
            f"{field.name} contains a control or invisible character: {value[:64]!r}", field.name
        )
    if not cleaned:
        if field.required:
            raise InvalidEvent(f"{field.name} is blank", field.name)
        return None
    return cleaned


def _clean_value(value: Any, field: Field) -> Any:
    kind = field.kind
    if kind == "identity":
        return _clean_identity(value, field)
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidEvent(
                f"{field.name} must be a string, got {type(value).__name__}", field.name
            )
        cleaned = value.strip()
        if not cleaned and field.required:
            raise InvalidEvent(f"{field.name} is blank", field.name)
        return cleaned or None
    if kind == "enum":
        if not isinstance(value, str):
            raise InvalidEvent(
                f"{field.name} must be a string, got {type(value).__name__}", field.name
            )
        if value not in field.values:
            raise InvalidEvent(
                f"{field.name} {value[:64]!r} is not one of {', '.join(field.values)}", field.name
            )
        return value
    if kind == "timestamp":
        return parse_timestamp(value, field.name)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidEvent(
                f"{field.name} must be an integer, got {type(value).__name__}", field.name
            )
        if not -(2**63) <= value < 2**63:
            raise InvalidEvent(f"{field.name} {value} does not fit in 64 bits", field.name)
        return value
    if kind == "string_list":
        # OAuth 2 sends scope as one space-delimited string (RFC 6749, section 3.3).
        if isinstance(value, str):
            value = value.split()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidEvent(f"{field.name} must be a list of strings", field.name)
        return list(dict.fromkeys(item.strip() for item in value if item.strip()))
    if kind == "object":
        if not isinstance(value, dict):
            raise InvalidEvent(
                f"{field.name} must be an object, got {type(value).__name__}", field.name
            )
        return value
    raise AssertionError(f"unhandled field kind {kind}")


def normalize_event(
    raw: dict[str, Any],
    *,
    now: datetime | None = None,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
    scan_secrets: bool = True,
) -> dict[str, Any]:
    """Validate one decoded event and return it as a row of `EVENT_SCHEMA` (lineage left null).

    Fields outside the contract move into `attributes`. Secrets are redacted in place and
    the redacted paths listed in `redacted_fields`. `scan_secrets=False` skips that scan and
    is only safe when the raw message was checked with `may_contain_secret`. Raises
    InvalidEvent naming the field.
    """
    row: dict[str, Any] = {}
    for name in REQUIRED_FIELDS:
        if raw.get(name) is None:
            raise InvalidEvent(f"missing required field {name}", name)
    for field in FIELDS:
        value = raw.get(field.name)
        row[field.name] = None if value is None else _clean_value(value, field)

    attributes = dict(row["attributes"] or {})
    for key, value in raw.items():
        if key not in FIELDS_BY_NAME:
            attributes[key if key not in attributes else f"unknown.{key}"] = value
    row["attributes"] = attributes

    event_time: datetime = row["event_time"]
    now = now or datetime.now(UTC)
    if event_time < EARLIEST_EVENT_TIME:
        raise InvalidEvent(
            f"event_time {event_time.isoformat()} is before 2000-01-01", "event_time"
        )
    if event_time > now + max_future_skew:
        raise InvalidEvent(
            f"event_time {event_time.isoformat()} is more than {max_future_skew} in the future",
            "event_time",
        )

    row["redacted_fields"] = redact_record(row) if scan_secrets else None
    row["attributes"] = (
        json.dumps(row["attributes"], sort_keys=True, default=str) if attributes else None
    )
    for lineage in LINEAGE_SCHEMA.names:
        row.setdefault(lineage, None)
    return row


def parse_event(
    value: bytes | None,
    *,
    max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    now: datetime | None = None,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
) -> dict[str, Any]:
    """Decode and validate one Kafka message value into a row, or raise InvalidEvent.

    The secret scan runs only when the raw bytes contain a secret marker, which keeps the
    common clean message cheap.
    """
    decoded = decode_message(value, max_bytes=max_bytes)
    return normalize_event(
        decoded,
        now=now,
        max_future_skew=max_future_skew,
        scan_secrets=may_contain_secret(value),
    )


def rows_to_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Build an Arrow table of `EVENT_SCHEMA` from normalized rows."""
    return pa.Table.from_pylist(list(rows), schema=EVENT_SCHEMA)


def event_date(row: dict[str, Any]) -> str:
    """Return the hive partition value (UTC date) for a normalized row."""
    return row["event_time"].strftime("%Y-%m-%d")
