"""Event contract v1: decoding, validation and normalisation of one message.

Each bad input has one case with the reason it must give; the ingest worker stores that
reason in quarantine. Kafka-level handling of the same inputs is in tests/kafka.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

import pytest

from transforms.contract import (
    EVENT_SCHEMA,
    InvalidEvent,
    decode_message,
    normalize_event,
    rows_to_table,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
GOOD = {
    "event_id": "e-1",
    "schema_version": "1",
    "event_time": "2026-05-01T10:00:00+02:00",
    "event_type": "tool_invoked",
    "agent_id": "support_bot-01",
}


def _normalize(**changes):
    event = {**GOOD, **changes}
    return normalize_event({k: v for k, v in event.items() if v is not ...}, now=NOW)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b"   \n", "empty message"),
        (None, "empty message"),
        (b"\xff\xfe{}", "not valid UTF-8 at byte 0"),
        (b'{"a": 1,', "invalid JSON"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"outer": {"b": 1, "b": 1}}', "duplicate key 'b'"),
        (b"[1, 2]", "JSON value is list"),
        (b'"text"', "JSON value is str"),
    ],
)
def test_decode_rejects_bad_bytes(raw, reason):
    with pytest.raises(InvalidEvent) as excinfo:
        decode_message(raw)
    assert reason in excinfo.value.reason


def test_decode_rejects_oversized_message():
    with pytest.raises(InvalidEvent) as excinfo:
        decode_message(b'{"x": "' + b"a" * 100 + b'"}', max_bytes=50)
    assert "over the limit of 50" in excinfo.value.reason


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"event_id": ...}, "event_id", "missing required field event_id"),
        ({"agent_id": None}, "agent_id", "missing required field agent_id"),
        ({"agent_id": "   "}, "agent_id", "agent_id is blank"),
        ({"agent_id": 42}, "agent_id", "agent_id must be a string"),
        ({"event_type": "tool_exploded"}, "event_type", "is not one of"),
        ({"principal_type": "robot"}, "principal_type", "is not one of"),
        ({"event_time": "2026-05-01T10:00:00"}, "event_time", "has no UTC offset"),
        ({"event_time": "yesterday"}, "event_time", "is not an ISO-8601 timestamp"),
        ({"event_time": "2031-01-01T00:00:00Z"}, "event_time", "in the future"),
        ({"event_time": 1_700_000_000}, "event_time", "before 2000-01-01"),
        ({"event_time": True}, "event_time", "got a boolean"),
        ({"step": "3"}, "step", "step must be an integer"),
        ({"step": 2**70}, "step", "does not fit in 64 bits"),
        ({"scopes": [1, 2]}, "scopes", "list of strings"),
        ({"attributes": [1]}, "attributes", "must be an object"),
    ],
)
def test_normalize_rejects_invalid_field(changes, field, reason):
    with pytest.raises(InvalidEvent) as excinfo:
        _normalize(**changes)
    assert excinfo.value.field == field
    assert reason in excinfo.value.reason


def test_event_time_stored_as_utc():
    row = _normalize()
    assert row["event_time"] == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_epoch_milliseconds_normalised():
    row = _normalize(event_time=1_777_000_000_000)
    assert row["event_time"] == datetime.fromtimestamp(1_777_000_000, tz=UTC)


def test_identities_normalised_to_nfc_and_stripped():
    decomposed = unicodedata.normalize("NFD", "  agent-é ")
    row = _normalize(agent_id=decomposed, principal_id="user:josé@example.com")
    assert row["agent_id"] == "agent-é"
    assert row["agent_id"] == unicodedata.normalize("NFC", "agent-é")


def test_blank_optional_identity_becomes_null():
    row = _normalize(on_behalf_of="  ", task_id="")
    assert row["on_behalf_of"] is None
    assert row["task_id"] is None


def test_space_delimited_scope_string_split():
    row = _normalize(scopes="crm.read  crm.write crm.read")
    assert row["scopes"] == ["crm.read", "crm.write"]


def test_unknown_fields_kept_in_attributes():
    row = _normalize(model="gpt-x", attributes={"trace": "t-1", "model": "kept"})
    attributes = json.loads(row["attributes"])
    assert attributes["trace"] == "t-1"
    assert attributes["model"] == "kept"
    assert attributes["unknown.model"] == "gpt-x"


def test_newer_schema_version_kept():
    row = _normalize(schema_version="2", new_field={"nested": True})
    assert row["schema_version"] == "2"
    assert json.loads(row["attributes"]) == {"new_field": {"nested": True}}


def test_rows_fit_arrow_schema_with_all_null_column():
    rows = [_normalize(event_id=f"e-{i}") for i in range(3)]
    table = rows_to_table(rows)
    assert table.schema.equals(EVENT_SCHEMA)
    assert table.column("on_behalf_of").null_count == 3
    assert table.schema.field("credential_expires_at").type == EVENT_SCHEMA.field(
        "credential_expires_at"
    ).type


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        (b'{"a": ' + b"1" * 5000 + b"}", "invalid JSON"),
    ],
)
def test_decode_rejects_non_standard_json(raw, reason):
    with pytest.raises(InvalidEvent) as excinfo:
        decode_message(raw, max_bytes=10_000_000)
    assert reason in excinfo.value.reason


@pytest.mark.parametrize("value", ["dup\x00", "dup\u200b", "a\u202eb", "\ufeffagent"])
def test_invisible_characters_in_identity_rejected(value):
    with pytest.raises(InvalidEvent) as excinfo:
        _normalize(agent_id=value)
    assert "control or invisible character" in excinfo.value.reason
