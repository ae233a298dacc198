"""CloudTrail mapping on the real sample files: counts per file and chosen records field by field.

The end-to-end behaviour (warehouse tables and alerts) is in test_sources_end_to_end.py.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from pipelines.sources.common import parse_iso_utc
from tests.sources.samples import (
    ADMIN_USER,
    BACKDOOR_ROLE,
    BEDROCK,
    ENTRA_AUDIT,
    FEDERATION,
    PASSWORD_DATA,
    S3_EXFILTRATION,
    STEAL_CREDENTIALS,
    by_id,
    map_files,
)
from transforms.contract import normalize_event

# (file, records read, then the expected count of each event type).
EXPECTED_COUNTS = [
    (
        PASSWORD_DATA,
        34,
        {"tool_invoked": 34, "credential_issued": 2, "task_started": 3, "task_completed": 2},
    ),
    (STEAL_CREDENTIALS, 45, {"tool_invoked": 45, "task_started": 2, "task_completed": 2}),
    (BEDROCK, 15, {"tool_invoked": 15, "task_started": 1, "task_completed": 1}),
    (
        ADMIN_USER,
        3,
        {
            "tool_invoked": 3,
            "grant_added": 1,
            "credential_issued": 1,
            "task_started": 1,
            "task_completed": 1,
        },
    ),
    (
        BACKDOOR_ROLE,
        2,
        {"tool_invoked": 2, "grant_added": 1, "task_started": 1, "task_completed": 1},
    ),
    (
        FEDERATION,
        2,
        {"tool_invoked": 2, "credential_issued": 1, "task_started": 2, "task_completed": 2},
    ),
    (
        S3_EXFILTRATION,
        103,
        {"tool_invoked": 103, "credential_issued": 5, "task_started": 7, "task_completed": 3},
    ),
]


@pytest.mark.parametrize(
    ("path", "records", "types"), EXPECTED_COUNTS, ids=[row[0].name for row in EXPECTED_COUNTS]
)
def test_sample_counts(path, records, types):
    events, stats, rejected = map_files(path)
    assert stats.records_read == records
    assert stats.records_mapped == records
    assert rejected == []
    assert dict(Counter(event["event_type"] for event in events)) == types
    assert len({event["event_id"] for event in events}) == len(events)


@pytest.mark.parametrize(
    ("path", "records", "types"), EXPECTED_COUNTS, ids=[row[0].name for row in EXPECTED_COUNTS]
)
def test_sample_events_meet_contract_without_secrets(path, records, types):
    events, _, _ = map_files(path)
    for event in events:
        row = normalize_event(event)
        # Key ids stay in credential_id only and session tokens are dropped at import, so
        # the redaction finds nothing in CloudTrail's own structure.
        assert row["redacted_fields"] is None, event["event_id"]
        assert "IQoJ" not in (row["attributes"] or "")


def test_assume_role_issues_15_minute_session():
    events = by_id(map_files(PASSWORD_DATA)[0])
    issued = events["d769ddfd-2cda-4cfa-b33f-05d3b886921d:credential_issued"]
    assert issued["credential_id"] == "ASIA7RQR64ZW9JXKWPUO"
    assert issued["credential_issued_at"] == "2024-07-30T21:31:15Z"
    assert issued["credential_expires_at"] == "2024-07-30T21:46:15Z"
    assert issued["principal_id"] == (
        "arn:aws:iam::457448411975:role/stratus-red-team-ec2-get-password-data-role"
    )
    assert issued["principal_type"] == "workload"
    assert issued["agent_id"] == (
        "stratus-red-team-ec2-get-password-data-role/aws-go-sdk-1722375070115152000"
    )
    assert issued["agent_kind"] == "aws_role_session"
    assert issued["auth_method"] == "sts_assume_role"
    assert issued["initiated_by"] == "arn:aws:iam::457448411975:user/christophe"
    assert issued["task_id"].startswith("cloudtrail:session:")


def test_assume_role_caller_event_stays_with_caller():
    events = by_id(map_files(PASSWORD_DATA)[0])
    call = events["d769ddfd-2cda-4cfa-b33f-05d3b886921d"]
    assert call["event_type"] == "tool_invoked"
    assert call["agent_id"] == "christophe"
    assert call["credential_id"] == "AKIAWOGXN38MFN92ING5"
    assert call["scopes"] == ["sts:AssumeRole"]
    assert call["tool"] == "sts.amazonaws.com:AssumeRole"
    assert call["action"] == "admin"
    assert call["resource"] == (
        "arn:aws:iam::457448411975:role/stratus-red-team-ec2-get-password-data-role"
    )
    assert call["task_id"].startswith("cloudtrail:burst:")
    assert call["attributes"]["omitted_fields"] == ["responseElements.credentials.sessionToken"]


def test_access_denied_assume_role_is_denied_without_issue():
    events = by_id(map_files(PASSWORD_DATA)[0])
    denied = events["8a8844ff-dc95-4ef5-87d2-d86cc23fedd0"]
    assert denied["outcome"] == "denied"
    assert denied["decision"] == "deny"
    assert denied["reason"] == "AccessDenied"
    assert "8a8844ff-dc95-4ef5-87d2-d86cc23fedd0:credential_issued" not in events


def test_unauthorized_operation_is_denied_for_session():
    events = map_files(PASSWORD_DATA)[0]
    password_calls = [e for e in events if e.get("tool") == "ec2.amazonaws.com:GetPasswordData"]
    assert len(password_calls) == 30
    assert {e["outcome"] for e in password_calls} == {"denied"}
    assert {e["credential_id"] for e in password_calls} == {"ASIANQQHHS551LWULIWD"}
    assert {e["scopes"][0] for e in password_calls} == {"ec2:GetPasswordData"}
    # Uses of a key issued in the same import carry its exact expiry.
    assert {e["credential_expires_at"] for e in password_calls} == {"2024-07-30T21:46:15Z"}


def test_unused_session_task_stays_open():
    events = map_files(PASSWORD_DATA)[0]
    issued = [e for e in events if e["event_type"] == "credential_issued"]
    unused = next(e for e in issued if e["credential_id"] == "ASIA7RQR64ZW9JXKWPUO")
    task_types = {e["event_type"] for e in events if e["task_id"] == unused["task_id"]}
    assert task_types == {"task_started", "credential_issued"}


def test_federation_token_lives_12_hours():
    events = by_id(map_files(FEDERATION)[0])
    issued = events["6e882b9d-2af8-4c67-b91f-aeac6a0e5e70:credential_issued"]
    issued_at = parse_iso_utc(issued["credential_issued_at"])
    expires_at = parse_iso_utc(issued["credential_expires_at"])
    assert expires_at - issued_at == timedelta(hours=12)
    assert issued["credential_id"] == "ASIASTJKC5GCM7ZE6LUP"
    assert issued["principal_type"] == "delegated_user"
    assert issued["on_behalf_of"] == "stratus_red_team"
    assert issued["agent_id"] == "stratus_red_team"
    assert issued["attributes"]["session_policy_actions"] == ["*"]


def test_federated_user_call_maps_to_delegated_session():
    events = map_files(FEDERATION)[0]
    call = by_id(events)["91529247-c4c4-4793-afc8-d70bbcfe9d19"]
    assert call["principal_type"] == "delegated_user"
    assert call["on_behalf_of"] == "stratus_red_team"
    assert call["principal_id"] == (
        "arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user"
    )
    session = [e for e in events if e["task_id"] == call["task_id"]]
    assert [e["event_type"] for e in session] == [
        "task_started",
        "credential_issued",
        "tool_invoked",
        "task_completed",
    ]
    assert session[0]["attributes"]["derived"] is True
    assert session[0]["event_time"] == "2024-11-30T08:43:17Z"
    assert session[-1]["event_time"] == "2024-11-30T08:43:18Z"
    assert session[-1]["attributes"]["derived"] is True
    assert [e["step"] for e in session] == [1, 2, 3, 4]
    assert session[2]["parent_event_id"] == session[1]["event_id"]


def test_create_access_key_is_standing_credential():
    events = by_id(map_files(ADMIN_USER)[0])
    issued = events["94faedcc-0fa4-46e6-9322-022e8e934f04:credential_issued"]
    assert issued["credential_id"] == "AKIAXAFZN8JEPF6L682H"
    assert "credential_expires_at" not in issued
    assert issued["credential_issued_at"] == "2024-08-01T13:33:28Z"
    assert issued["principal_id"] == "arn:aws:iam::229654561268:user/malicious-iam-user"
    assert issued["agent_id"] == "malicious-iam-user"
    assert issued["initiated_by"] == "arn:aws:iam::229654561268:user/christophe"
    assert issued["auth_method"] == "api_key"
    assert issued["attributes"]["access_key_status"] == "Active"
    # Created in the caller's task: the key outlives that task.
    assert issued["task_id"] == events["94faedcc-0fa4-46e6-9322-022e8e934f04"]["task_id"]


def test_attach_admin_policy_is_grant_added():
    events = by_id(map_files(ADMIN_USER)[0])
    grant = events["083dc4ad-e264-46bc-a407-d0dd31b58bdc:grant_added"]
    assert grant["event_type"] == "grant_added"
    assert grant["scopes"] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    assert grant["principal_id"] == "arn:aws:iam::229654561268:user/malicious-iam-user"
    assert grant["principal_type"] == "service_account"
    assert grant["agent_kind"] == "aws_iam_user"
    assert grant["attributes"]["changed_by_agent_id"] == "christophe"
    call = events["083dc4ad-e264-46bc-a407-d0dd31b58bdc"]
    assert call["action"] == "write"
    assert call["scopes"] == ["iam:AttachUserPolicy"]
    assert call["resource"] == "arn:aws:iam::aws:policy/AdministratorAccess"


def test_attach_role_policy_targets_role():
    events = by_id(map_files(BACKDOOR_ROLE)[0])
    grant = events["39480357-0a1d-4531-a3f2-71be4c041c25:grant_added"]
    assert grant["principal_id"] == (
        "arn:aws:iam::609418236337:role/stratus-red-team-malicious-iam-role"
    )
    assert grant["agent_kind"] == "aws_role"
    assert grant["principal_type"] == "workload"


def test_logstash_ndjson_time_from_timestamp():
    events = by_id(map_files(S3_EXFILTRATION)[0])
    describe = events["a3d34faf-076e-44ff-b2f7-605d76705a81"]
    assert describe["event_time"] == "2020-09-14T00:44:24Z"
    assert describe["agent_id"] == "pedro"
    assert describe["attributes"]["@version"] == "1"
    assert "@timestamp" not in describe["attributes"]


def test_instance_profile_key_used_off_instance():
    events = map_files(S3_EXFILTRATION)[0]
    issued = next(
        e
        for e in events
        if e["event_type"] == "credential_issued" and e["credential_id"] == "ASIA5FLZVX4OPVKKVBMX"
    )
    assert issued["initiated_by"] == "service:ec2.amazonaws.com"
    assert issued["credential_expires_at"] == "2020-09-14T07:10:27Z"
    assert issued["agent_id"] == "MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0/i-0317f6c6b66ae9c40"
    uses = [
        e
        for e in events
        if e["event_type"] == "tool_invoked" and e.get("credential_id") == "ASIA5FLZVX4OPVKKVBMX"
    ]
    assert len(uses) == 11
    assert {e["task_id"] for e in uses} == {issued["task_id"]}
    assert Counter(e["scopes"][0] for e in uses) == {
        "s3:ListBucket": 7,
        "s3:GetObject": 2,
        "s3:ListBuckets": 2,
    }
    completed = next(
        e
        for e in events
        if e["event_type"] == "task_completed" and e["task_id"] == issued["task_id"]
    )
    assert completed["event_time"] == "2020-09-14T01:13:20Z"


def test_session_without_issue_gets_expiry_bound():
    events = map_files(STEAL_CREDENTIALS)[0]
    uses = [e for e in events if e.get("credential_id") == "ASIAP5CT9NN8EYVU1FXV"]
    assert len(uses) == 2
    # Issued at the session's creationDate 08:20:52; a role session lives at most 12 hours.
    assert {e["credential_expires_at"] for e in uses} == {"2024-08-02T20:20:52Z"}
    assert {e["attributes"]["credential_expires_at_basis"] for e in uses} == {
        "sts_maximum_duration"
    }
    assert {e["principal_type"] for e in uses} == {"workload"}
    assert {e["agent_id"] for e in uses} == {
        "stratus-red-team-ec2-steal-credentials-role/i-786a3A8B5C0d92eF4"
    }


def test_send_command_is_execute():
    events = by_id(map_files(STEAL_CREDENTIALS)[0])
    command = events["2a5178c8-b4c7-44ba-b066-1ecc79b7087c"]
    assert command["action"] == "execute"
    assert command["resource"] == "i-786a3A8B5C0d92eF4"
    assert command["system"] == "ssm.amazonaws.com"


def test_bedrock_calls_map_to_model_scopes():
    events = map_files(BEDROCK)[0]
    scopes = Counter(e["scopes"][0] for e in events if e["event_type"] == "tool_invoked")
    assert scopes["bedrock:InvokeModel"] == 1
    assert scopes["bedrock:GetFoundationModelAvailability"] == 10
    assert {e["agent_id"] for e in events} == {"test-role/cli"}


def test_entra_audit_rows_are_rejected():
    events, stats, rejected = map_files(ENTRA_AUDIT)
    assert events == []
    assert stats.rejected == 4
    assert {item.reason for item in rejected} == {
        "not a CloudTrail record: eventSource or eventName missing"
    }
    assert rejected[0].origin.endswith("AADAuditEvents.json:1")
    assert rejected[0].raw.startswith(b"{")


def test_files_mapped_together_keep_counts():
    events, stats, rejected = map_files(FEDERATION, ADMIN_USER, ENTRA_AUDIT)
    assert stats.records_read == 2 + 3 + 4
    assert stats.records_mapped == 5
    assert len(rejected) == 4
    assert len(events) == 7 + 7
