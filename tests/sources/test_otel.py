"""OpenTelemetry GenAI span mapping on the hand-written OTLP JSON traces (see tests/data/otel)."""

from __future__ import annotations

import copy
import gzip
import json
from collections import Counter

import pytest

from pipelines.sources.common import Rejected
from pipelines.sources.otel import OtelStats, otel_events, read_otlp
from pipelines.sources.otlp import any_value
from tests.sources.samples import OTEL_TRACES
from transforms.contract import normalize_event

SUPPORT = "4bf92f3577b34da6a3ce929d0e0e4736"
FAILED = "5b8aa5a2d2c872e8321cf37308d69df2"
NO_AGENT_SPAN = "7c1f6d1e0a2b4c3d8e9f00112233aabb"
NESTED = "0af7651916cd43dd8448eb211c80319c"


def _map(*paths):
    stats = OtelStats()
    rejected: list[Rejected] = []
    events = list(otel_events(read_otlp(paths), on_reject=rejected.append, stats=stats))
    return events, stats, rejected


@pytest.fixture(scope="module")
def mapped():
    return _map(OTEL_TRACES)


def _trace(events, trace_id):
    return [e for e in events if e["task_id"] == trace_id]


def test_counts(mapped):
    events, stats, rejected = mapped
    assert stats.records_read == 1
    assert stats.spans_read == 16
    assert stats.spans_mapped == 12
    assert stats.spans_skipped == 1
    assert stats.rejected == 3
    assert len(rejected) == 3
    assert len(events) == 22
    assert Counter(e["task_id"] for e in events) == {
        SUPPORT: 7,
        FAILED: 6,
        NO_AGENT_SPAN: 5,
        NESTED: 4,
    }


def test_events_meet_contract(mapped):
    for event in mapped[0]:
        assert normalize_event(event)["event_id"] == event["event_id"]


def test_invoke_agent_bounds_task(mapped):
    events = _trace(mapped[0], SUPPORT)
    assert [e["event_type"] for e in events] == [
        "task_started",
        "tool_invoked",
        "tool_selected",
        "tool_invoked",
        "tool_selected",
        "tool_invoked",
        "task_completed",
    ]
    started, completed = events[0], events[-1]
    assert started["event_time"] == "2026-11-30T10:00:00Z"
    assert completed["event_time"] == "2026-11-30T10:00:42Z"
    assert started["agent_id"] == "support_bot-07"
    assert started["agent_kind"] == "support_bot"
    assert started["initiated_by"] == "user:alice@example.com"
    assert started["run_id"] == "conv_5j66UpCpwteGg4YSxUnt7lPY"
    assert started["environment"] == "prod"
    assert started["tenant"] == "acme"
    assert "derived" not in started["attributes"]
    assert {e["agent_id"] for e in events} == {"support_bot-07"}
    assert [e["step"] for e in events] == list(range(1, 8))


def test_chat_span_is_model_call(mapped):
    chat = next(e for e in _trace(mapped[0], SUPPORT) if e.get("tool") == "gen_ai.chat")
    assert chat["event_type"] == "tool_invoked"
    assert chat["system"] == "openai"
    assert chat["resource"] == "gpt-4o"
    assert chat["action"] == "execute"
    assert chat["attributes"]["otel.attributes"]["gen_ai.usage.input_tokens"] == 1843
    assert chat["attributes"]["otel.attributes"]["gen_ai.response.finish_reasons"] == ["tool_calls"]


def test_delegated_tool_call_fields(mapped):
    events = _trace(mapped[0], SUPPORT)
    selected, invoked = [e for e in events if e.get("tool") == "crm.lookup_contact"]
    assert selected["event_type"] == "tool_selected"
    assert selected["event_time"] == "2026-11-30T10:00:04Z"
    assert invoked["event_time"] == "2026-11-30T10:00:05Z"
    assert invoked["principal_type"] == "delegated_user"
    assert invoked["principal_id"] == "user:alice@example.com"
    assert invoked["on_behalf_of"] == "user:alice@example.com"
    assert invoked["credential_id"] == "oauth-grant-7f3a9c"
    assert invoked["credential_expires_at"] == "2026-11-30T11:00:00Z"
    assert invoked["auth_method"] == "oauth_delegated"
    assert invoked["scopes"] == ["crm.contacts.read"]
    assert invoked["action"] == "read"
    assert invoked["system"] == "crm"
    assert invoked["resource"] == "crm/contacts/88213"
    assert invoked["data_classification"] == "confidential"
    assert invoked["outcome"] == "success"
    assert invoked["attributes"]["otel.attributes"]["gen_ai.tool.call.id"] == (
        "call_mszuSIzqtI65i1wAUOE8w5H4"
    )


def test_machine_tool_call_fields(mapped):
    invoked = [e for e in _trace(mapped[0], SUPPORT) if e.get("tool") == "billing.update_invoice"][
        1
    ]
    assert invoked["principal_type"] == "service_account"
    assert invoked["principal_id"] == "sa:support_bot-07"
    assert "on_behalf_of" not in invoked
    assert invoked["scopes"] == ["billing.invoices.write"]
    assert invoked["approval_id"] == "appr-2231"


def test_error_status_fails_task(mapped):
    events = _trace(mapped[0], FAILED)
    assert events[-1]["event_type"] == "task_failed"
    assert events[-1]["outcome"] == "failure"
    assert events[-1]["attributes"]["otel.status_message"] == "tool call refused: repo.push"
    assert events[0]["agent_id"] == "dev_assistant"
    assert events[0]["initiated_by"] == "schedule:nightly-deps"
    push = [e for e in events if e.get("tool") == "repo.push"][1]
    assert push["outcome"] == "denied"
    assert push["principal_type"] == "workload"
    assert push["credential_issued_at"] == "2026-11-30T10:05:00Z"


def test_leaked_bearer_token_redacted(mapped):
    fetch = [e for e in _trace(mapped[0], FAILED) if e.get("tool") == "http.fetch"]
    rows = [normalize_event(event) for event in fetch]
    assert rows[0]["redacted_fields"] is None  # tool_selected keeps only the span ids
    assert rows[1]["redacted_fields"] == [
        "attributes.otel.attributes.http.request.header.authorization[0]:bearer_token"
    ]
    assert "abcdefghijklmnopqrstuvwxyz" not in rows[1]["attributes"]
    # The header's scheme is kept as the auth method, the token itself never.
    assert fetch[1]["auth_method"] == "bearer_token"


def test_trace_without_agent_span_gets_derived_task(mapped):
    events = _trace(mapped[0], NO_AGENT_SPAN)
    assert [e["event_type"] for e in events] == [
        "task_started",
        "tool_invoked",
        "tool_selected",
        "tool_invoked",
        "task_completed",
    ]
    assert events[0]["attributes"]["derived"] is True
    assert events[-1]["attributes"]["derived"] is True
    assert events[-1]["event_time"] == "2026-11-30T11:00:07Z"
    assert {e["agent_id"] for e in events} == {"nightly-digest"}
    assert events[1]["system"] == "anthropic"  # from the older gen_ai.system attribute
    assert events[2]["tool"] == "search_docs"  # from the span name
    assert events[1]["environment"] == "staging"


def test_nested_agent_is_step_of_caller(mapped):
    events = _trace(mapped[0], NESTED)
    assert [e["event_type"] for e in events] == [
        "task_started",
        "tool_selected",
        "tool_invoked",
        "tool_invoked",
    ]
    assert events[0]["agent_id"] == "planner-01"
    assert events[0]["principal_type"] == "delegated_user"
    assert events[0]["on_behalf_of"] == "user:bob@example.com"
    assert events[1]["agent_id"] == "researcher-02"
    assert events[1]["agent_kind"] == "researcher"
    nested = events[3]
    assert nested["tool"] == "invoke_agent:researcher-02"
    assert nested["agent_id"] == "planner-01"
    assert nested["system"] == "aws.bedrock"
    # The planner span has no end time, so its task stays open.
    assert "task_completed" not in {e["event_type"] for e in events}


def test_invalid_spans_rejected(mapped):
    reasons = sorted(item.reason for item in mapped[2])
    assert reasons == [
        "span e1e2e3e4e5e6e7e8 has no valid startTimeUnixNano",
        "span has no traceId or spanId",
        "span names no agent: no gen_ai.agent.id, gen_ai.agent.name or service.name",
    ]


def test_ndjson_gzip_documents(tmp_path):
    document = json.loads(OTEL_TRACES.read_text())
    halves = [
        {"resourceSpans": document["resourceSpans"][:2]},
        {"resourceSpans": document["resourceSpans"][2:]},
    ]
    path = tmp_path / "traces.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(h) for h in halves).encode()))
    events, stats, _ = _map(path)
    assert stats.records_read == 2
    assert events == _map(OTEL_TRACES)[0]


def test_non_otlp_document_rejected(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"Records": []}))
    events, stats, rejected = _map(path)
    assert events == []
    assert rejected[0].reason == "not an OTLP JSON trace document: no resourceSpans"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"stringValue": "a"}, "a"),
        ({"intValue": "42"}, 42),
        ({"intValue": 7}, 7),
        ({"boolValue": True}, True),
        ({"doubleValue": 0.5}, 0.5),
        ({"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "b"}]}}, [1, "b"]),
        ({"kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}}, {"k": "v"}),
        ({"bytesValue": "AQI="}, "0102"),
        ({}, None),
    ],
)
def test_any_value_decoding(value, expected):
    assert any_value(value) == expected


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):
            yield from _paths(item, (*prefix, index))


def test_odd_field_types_never_crash(tmp_path):
    document = json.loads(OTEL_TRACES.read_text())
    first_resource = {"resourceSpans": document["resourceSpans"][:1]}
    first_resource["resourceSpans"][0]["scopeSpans"][0]["spans"] = first_resource["resourceSpans"][
        0
    ]["scopeSpans"][0]["spans"][:3]
    paths = list(_paths(first_resource))
    assert len(paths) >= 40
    for path in paths:
        for odd in (None, 7, "x", [], {}):
            changed = copy.deepcopy(first_resource)
            target = changed
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = odd
            list(otel_events([changed], on_reject=lambda item: None))
