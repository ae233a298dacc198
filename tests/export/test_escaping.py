"""Property tests: hostile strings in every alert field never inject a field or a record.

Each sink's output is parsed back with an independent parser. Every alert must give
exactly one record with the same set of fields. Each value must come back as it went in,
or as the format's documented replacement where the format cannot carry a character.
The replacements cover line breaks in a CEF header, control characters other than line
breaks anywhere in CEF, and the delimiter, line breaks and control characters in LEEF.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detections.export.alerts import Alert
from detections.export.config import parse_sinks
from detections.export.formats import cef, leef
from detections.export.formats.syslog import octet_counted
from detections.export.sinks import SINK_TYPES

from .ocsf_check import ocsf_problems
from .parsers import parse_cef, parse_leef, parse_rfc5424, split_octet_frames

HOSTILE_PIECES = [
    "\n", "\r", "\r\n", "=", "|", "\\", "\\=", "\\|", "\t", "\x00", "^", " ", '"', "]",
    "\u2028", "\x85", "\x1b[31m", "key=value", " cs1=evil", "^sev=10", "|CEF:0|x|",
    "<13>1 - - - - - - ", "\ufeff", "é", "漢字", "🔥",
]  # fmt: skip

any_char = st.characters(exclude_categories=("Cs",))
hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(alphabet=any_char, max_size=12)),
    max_size=10,
).map("".join)
long_unicode = st.text(alphabet=st.characters(min_codepoint=0x80, exclude_categories=("Cs",)),
                       min_size=300, max_size=1500)  # fmt: skip
field_text = st.one_of(hostile_text, hostile_text, hostile_text, long_unicode)

WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

alerts = st.builds(
    Alert,
    alert_id=field_text,
    rule_id=field_text,
    rule_title=field_text,
    severity=st.sampled_from(["info", "low", "medium", "high", "critical"]),
    rule_status=st.just("stable"),
    entity_type=field_text,
    entity_id=field_text,
    agent_id=st.one_of(st.none(), field_text),
    window_start=st.just(WHEN),
    window_end=st.just(WHEN),
    evidence_event_ids=st.lists(field_text, max_size=3).map(tuple),
    explanation=field_text,
    details=st.dictionaries(hostile_text, hostile_text, max_size=3),
    content_hash=field_text,
    first_detected_at=st.just(WHEN),
    last_detected_at=st.just(WHEN),
    mitre_technique=st.one_of(st.none(), field_text),
)

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def renderer(sink: dict):
    config = parse_sinks({"sink": sink})[0]
    return SINK_TYPES[config.type].build_renderer(config)


def controls_to(value: str, replacement: str, keep: str = "") -> str:
    return "".join(
        replacement if (ord(c) < 0x20 or ord(c) == 0x7F) and c not in keep else c for c in value
    )


@PROPERTY_SETTINGS
@given(alert=alerts, is_update=st.booleans())
def test_cef_values_round_trip(alert, is_update):
    line = cef.render_cef(alert, is_update)

    header, extension = parse_cef(line)

    assert "\n" not in line
    assert "\r" not in line
    header_expected = controls_to(alert.rule_id.replace("\r", " ").replace("\n", " "), "\ufffd")
    assert header[4] == header_expected
    assert header[5] == controls_to(
        alert.rule_title.replace("\r", " ").replace("\n", " "), "\ufffd"
    )
    expected = cef.extension_fields(alert, is_update)
    assert list(extension) == [key for key, _ in expected]
    for key, value in expected:
        assert extension[key] == controls_to(value, "\ufffd", keep="\r\n"), key


@PROPERTY_SETTINGS
@given(alert=alerts, is_update=st.booleans(), delimiter=st.sampled_from(["^", "\t", "#"]))
def test_leef_values_round_trip(alert, is_update, delimiter):
    line = leef.render_leef(alert, is_update, delimiter)

    header, attributes = parse_leef(line)

    def cleaned(value: str) -> str:
        return controls_to(value.replace(delimiter, " "), " ")

    assert header[4] == cleaned(alert.rule_id).replace("|", " ")
    expected = leef.attributes(alert, is_update)
    assert list(attributes) == [key for key, _ in expected]
    for key, value in expected:
        assert attributes[key] == cleaned(value), key


@PROPERTY_SETTINGS
@given(first=alerts, second=alerts, payload_format=st.sampled_from(["cef", "leef"]))
def test_syslog_frames_keep_records_apart(first, second, payload_format):
    render = renderer({"type": "syslog", "host": "127.0.0.1", "port": 514,
                       "format": payload_format, "hostname": "auditor-01"})  # fmt: skip
    stream = octet_counted(render(first, False)) + octet_counted(render(second, True))

    messages = [parse_rfc5424(raw) for raw in split_octet_frames(stream)]

    assert len(messages) == 2
    for message, alert, action in zip(messages, (first, second), ("create", "update"), strict=True):
        params = message.structured_data["agentaudit@32473"]
        assert params == {
            "alertId": alert.alert_id,
            "action": action,
            "contentHash": alert.content_hash,
        }
        if payload_format == "cef":
            _, extension = parse_cef(message.msg)
            assert extension["act"] == action
        else:
            _, attributes = parse_leef(message.msg)
            assert attributes["action"] == action


@PROPERTY_SETTINGS
@given(alert=alerts, is_update=st.booleans())
def test_ocsf_line_is_one_valid_record(alert, is_update):
    text = renderer({"type": "ocsf_file", "path": "unused"})(alert, is_update).decode()

    lines = text.splitlines()

    assert len(lines) == 1
    finding = json.loads(lines[0])
    assert ocsf_problems(finding) == []
    assert finding["activity_id"] == (2 if is_update else 1)
    assert finding["finding_info"]["uid"] == alert.alert_id
    assert finding["finding_info"]["title"] == alert.rule_title
    assert finding["message"] == alert.explanation
    assert finding["resources"] == [{"uid": alert.entity_id, "type": alert.entity_type}]
    assert finding["unmapped"]["details"] == alert.details
    assert finding["evidences"][0]["data"]["event_ids"] == list(alert.evidence_event_ids)


@PROPERTY_SETTINGS
@given(alert=alerts, is_update=st.booleans())
def test_ecs_bulk_is_one_action_and_document(alert, is_update):
    text = renderer({"type": "ecs_bulk_file", "path": "unused"})(alert, is_update).decode()

    lines = text.splitlines()

    assert len(lines) == 2
    action, document = (json.loads(line) for line in lines)
    assert action["index"]["_id"] == alert.alert_id
    assert document["rule"]["id"] == alert.rule_id
    assert document["rule"]["name"] == alert.rule_title
    assert document["message"] == alert.explanation
    assert document["agentaudit"]["entity"]["id"] == alert.entity_id
    assert document["agentaudit"]["details"] == alert.details


@PROPERTY_SETTINGS
@given(alert=alerts, is_update=st.booleans())
def test_hec_and_webhook_json_round_trip(alert, is_update):
    hec = renderer({"type": "splunk_hec", "url": "http://127.0.0.1:1", "token_env": "T"})
    webhook = renderer({"type": "webhook", "url": "http://127.0.0.1:1"})

    hec_lines = hec(alert, is_update).decode().splitlines()
    webhook_lines = webhook(alert, is_update).decode().splitlines()

    assert len(hec_lines) == 1
    assert len(webhook_lines) == 1
    for document in (json.loads(hec_lines[0])["event"], json.loads(webhook_lines[0])):
        assert document["alert_id"] == alert.alert_id
        assert document["explanation"] == alert.explanation
        assert document["entity_id"] == alert.entity_id
        assert document["agent_id"] == alert.agent_id
        assert document["details"] == alert.details
        assert document["evidence_event_ids"] == list(alert.evidence_event_ids)
