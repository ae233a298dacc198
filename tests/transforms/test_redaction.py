"""Redaction of secrets before events reach Parquet, and the record of what was redacted."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from transforms.contract import normalize_event, parse_event
from transforms.redaction import may_contain_secret, redact_text

# Shapes of real secrets, built from parts so that no literal secret sits in the source.
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJhZ2VudCJ9." + "c2lnbmF0dXJlLXZhbHVl"
SESSION_TOKEN = "IQoJ" + "b3JpZ2luX2VjE" * 10
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"key {AWS_KEY_ID} leaked", "aws_access_key_id"),
        (f"aws_secret_access_key = {AWS_SECRET}", "aws_secret_access_key"),
        (f"token={SESSION_TOKEN}", "aws_session_token"),
        (f"Authorization: {JWT}", "jwt"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123", "bearer_token"),
        ("ghp_" + "a" * 36, "github_token"),
        ("sk-" + "b" * 24, "api_secret_key"),
        ("xoxb-" + "1" * 10, "slack_token"),
        (PRIVATE_KEY, "private_key"),
    ],
)
def test_redact_text_finds_each_kind(text, kind):
    cleaned, kinds = redact_text(text)
    assert kind in kinds
    assert f"[REDACTED:{kind}]" in cleaned


@pytest.mark.parametrize(
    "text",
    ["crm.update_contact", "short", "user:ana@example.com", "the bearer of news", "ASIAN market"],
)
def test_redact_text_leaves_clean_text(text):
    assert redact_text(text) == (text, [])


def test_secret_value_never_kept():
    cleaned, _ = redact_text(f"aws_secret_access_key: {AWS_SECRET}")
    assert AWS_SECRET not in cleaned


def test_event_redaction_records_paths():
    event = {
        "event_id": "e-1",
        "schema_version": "1",
        "event_time": "2026-05-01T10:00:00Z",
        "event_type": "tool_invoked",
        "agent_id": "dev_assistant-01",
        "credential_id": AWS_KEY_ID,
        "resource": f"s3://bucket/{AWS_KEY_ID}",
        "attributes": {"request": {"headers": [f"Bearer {'x' * 30}"]}},
    }
    row = normalize_event(event, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert row["credential_id"] == AWS_KEY_ID, "an access key id is a valid credential_id"
    assert AWS_KEY_ID not in row["resource"]
    assert "x" * 30 not in row["attributes"]
    assert sorted(row["redacted_fields"]) == [
        "attributes.request.headers[0]:bearer_token",
        "resource:aws_access_key_id",
    ]
    assert json.loads(row["attributes"])["request"]["headers"] == ["[REDACTED:bearer_token]"]


def test_clean_event_has_null_redacted_fields():
    event = {
        "event_id": "e-2",
        "schema_version": "1",
        "event_time": "2026-05-01T10:00:00Z",
        "event_type": "task_started",
        "agent_id": "dev_assistant-01",
    }
    assert normalize_event(event, now=datetime(2026, 6, 1, tzinfo=UTC))["redacted_fields"] is None


def test_escaped_secret_still_redacted():
    # "\u0041KIA" decodes to "AKIA": the byte prefilter must not skip escaped text.
    raw = json.dumps(
        {
            "event_id": "e-3",
            "schema_version": "1",
            "event_time": "2026-05-01T10:00:00Z",
            "event_type": "tool_invoked",
            "agent_id": "dev_assistant-01",
            "resource": "key " + AWS_KEY_ID,
        }
    ).replace("AKIA", "\\u0041KIA").encode()
    assert b"AKIA" not in raw
    row = parse_event(raw, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert row["redacted_fields"] == ["resource:aws_access_key_id"]


def test_task_ids_do_not_trip_api_key_marker():
    assert may_contain_secret(b'{"task_id": "task-0123456789abcdefghijkl"}') is False
    assert may_contain_secret(b'{"note": "sk-' + b"a" * 24 + b'"}') is True


@pytest.mark.parametrize(
    "key", ["aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "db-password", "apiKey", "token"]
)
def test_value_under_secret_key_redacted(key):
    event = {
        "event_id": "e-4",
        "schema_version": "1",
        "event_time": "2026-05-01T10:00:00Z",
        "event_type": "tool_invoked",
        "agent_id": "dev_assistant-01",
        "attributes": {"tool_args": {key: AWS_SECRET}},
    }
    row = parse_event(json.dumps(event).encode(), now=datetime(2026, 6, 1, tzinfo=UTC))
    assert AWS_SECRET not in row["attributes"]
    assert row["redacted_fields"] == [f"attributes.tool_args.{key}:secret_field"]


@pytest.mark.parametrize("key", ["input_tokens", "secret_name", "tokenizer", "credential_id"])
def test_value_under_ordinary_key_kept(key):
    event = {
        "event_id": "e-5",
        "schema_version": "1",
        "event_time": "2026-05-01T10:00:00Z",
        "event_type": "tool_invoked",
        "agent_id": "dev_assistant-01",
        "attributes": {key: "plain-value-1234"},
    }
    row = parse_event(json.dumps(event).encode(), now=datetime(2026, 6, 1, tzinfo=UTC))
    assert json.loads(row["attributes"])[key] == "plain-value-1234"
    assert row["redacted_fields"] is None
