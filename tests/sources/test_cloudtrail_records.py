"""CloudTrail mapping of single records: malformed input, IAM changes, identities, vocabulary.

Records here are trimmed copies of the real sample records, changed field by field to
reach one case each. Readers and file formats are in test_readers.py.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from pipelines.sources.cloudtrail import cloudtrail_events, map_record
from pipelines.sources.cloudtrail_effects import parse_aws_time
from pipelines.sources.cloudtrail_vocabulary import action_for, iam_scope, outcome_for
from pipelines.sources.common import MAX_ATTRIBUTE_BYTES, Rejected
from tests.sources.samples import ADMIN_USER, FEDERATION
from transforms.contract import normalize_event

IAM_USER = {
    "type": "IAMUser",
    "principalId": "AIDAZ49AHUAJ9OEK73O5",
    "arn": "arn:aws:iam::229654561268:user/christophe",
    "accountId": "229654561268",
    "accessKeyId": "AKIAOZUDECYXYM4ONAN4",
    "userName": "christophe",
}


def _record(**changes):
    base = {
        "eventVersion": "1.09",
        "userIdentity": copy.deepcopy(IAM_USER),
        "eventTime": "2024-08-01T13:33:28Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "ListUsers",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": None,
        "responseElements": None,
        "eventID": "11111111-2222-3333-4444-555555555555",
        "recipientAccountId": "229654561268",
    }
    base.update(changes)
    return base


def _map(*records):
    rejected: list[Rejected] = []
    events = list(cloudtrail_events(records, on_reject=rejected.append))
    return events, rejected


def _primary(events):
    return next(e for e in events if e["event_type"] not in ("task_started", "task_completed"))


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("not a record", "record is a JSON str, expected an object"),
        ([1, 2], "record is a JSON list, expected an object"),
        ({"eventName": "ListUsers"}, "not a CloudTrail record: eventSource or eventName missing"),
        (_record(eventTime=None), "missing eventTime and @timestamp"),
        (_record(eventTime="yesterday"), "event time 'yesterday' is not an ISO-8601 timestamp"),
        (
            _record(userIdentity=None),
            "userIdentity missing or names no caller, so no agent can be given",
        ),
        (
            _record(userIdentity={"type": "AWSService"}),
            "userIdentity missing or names no caller, so no agent can be given",
        ),
    ],
    ids=["string", "list", "no-source", "null-time", "bad-time", "null-identity", "no-service"],
)
def test_unmappable_record_rejected_with_reason(record, reason):
    events, rejected = _map(record)
    assert events == []
    assert len(rejected) == 1
    assert rejected[0].reason == reason
    assert rejected[0].origin == "record 0"
    assert json.loads(rejected[0].raw) == record


def test_rejected_record_message_carries_marker_and_bytes():
    _, rejected = _map({"eventName": "ListUsers"})
    message = rejected[0].quarantine_message()
    header, body = message.split(b"\n", 1)
    assert header.startswith(b"agentaudit-unmappable-record: not a CloudTrail record")
    assert json.loads(body) == {"eventName": "ListUsers"}


def test_bad_record_does_not_stop_batch():
    events, rejected = _map({"eventName": "x"}, _record(), None)
    assert len(rejected) == 2
    assert [e["event_type"] for e in events] == ["task_started", "tool_invoked", "task_completed"]


def test_null_fields_still_map():
    record = _record(
        requestParameters=None,
        responseElements=None,
        userAgent=None,
        sourceIPAddress=None,
        readOnly=None,
        resources=None,
    )
    event = _primary(_map(record)[0])
    assert event["action"] == "read"
    assert "resource" not in event
    assert normalize_event(event)["event_type"] == "tool_invoked"


def test_missing_event_id_gets_stable_hash():
    record = _record()
    del record["eventID"]
    first = _primary(_map(record)[0])
    second = _primary(_map(copy.deepcopy(record))[0])
    assert first["event_id"].startswith("cloudtrail-sha256:")
    assert first["event_id"] == second["event_id"]


def test_duplicate_event_id_mapped_once():
    events, _ = _map(_record(), _record())
    assert sum(e["event_type"] == "tool_invoked" for e in events) == 1


def test_huge_request_parameters_truncated():
    policy = json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": f"s3:Get{i}"} for i in range(3000)]}
    )
    record = _record(
        eventName="PutUserPolicy",
        requestParameters={"userName": "bot", "policyName": "big", "policyDocument": policy},
    )
    events, _ = _map(record)
    call = _primary(events)
    summary = call["attributes"]["requestParameters"]
    assert summary["truncated"] is True
    assert summary["size_bytes"] > MAX_ATTRIBUTE_BYTES
    assert len(summary["preview"]) == 512
    assert call["attributes"]["truncated_fields"] == ["requestParameters"]
    # The grant still comes from the full request, read before truncation.
    grant = next(e for e in events if e["event_type"] == "grant_added")
    assert grant["scopes"] == ["inline:big"]
    assert len(grant["attributes"]["policy_actions"]) == 3000
    assert len(json.dumps(normalize_event(call)["attributes"])) < 4 * MAX_ATTRIBUTE_BYTES


@pytest.mark.parametrize(
    ("name", "request_parameters", "event_type", "principal", "scope"),
    [
        (
            "DetachRolePolicy",
            {"roleName": "ci", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
            "grant_removed",
            "arn:aws:iam::229654561268:role/ci",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
        ),
        (
            "PutRolePolicy",
            {"roleName": "ci", "policyName": "deploy", "policyDocument": "{}"},
            "grant_added",
            "arn:aws:iam::229654561268:role/ci",
            "inline:deploy",
        ),
        (
            "DeleteUserPolicy",
            {"userName": "bot", "policyName": "deploy"},
            "grant_removed",
            "arn:aws:iam::229654561268:user/bot",
            "inline:deploy",
        ),
        (
            "AttachGroupPolicy",
            {"groupName": "ops", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"},
            "grant_added",
            "arn:aws:iam::229654561268:group/ops",
            "arn:aws:iam::aws:policy/PowerUserAccess",
        ),
        (
            "AddUserToGroup",
            {"userName": "bot", "groupName": "admins"},
            "grant_added",
            "arn:aws:iam::229654561268:user/bot",
            "arn:aws:iam::229654561268:group/admins",
        ),
    ],
)
def test_iam_grant_changes(name, request_parameters, event_type, principal, scope):
    events, _ = _map(_record(eventName=name, requestParameters=request_parameters))
    effects = [e for e in events if e["event_type"] == event_type]
    assert len(effects) == 1
    assert effects[0]["principal_id"] == principal
    assert effects[0]["scopes"] == [scope]
    assert effects[0]["event_id"] == f"11111111-2222-3333-4444-555555555555:{event_type}"


def test_failed_iam_change_has_no_effect():
    record = _record(
        eventName="AttachUserPolicy",
        errorCode="AccessDenied",
        requestParameters={"userName": "bot", "policyArn": "arn:aws:iam::aws:policy/X"},
    )
    events, _ = _map(record)
    assert [e["event_type"] for e in events] == ["task_started", "tool_invoked", "task_completed"]
    assert _primary(events)["outcome"] == "denied"


def test_delete_access_key_revokes():
    record = _record(
        eventName="DeleteAccessKey",
        requestParameters={"userName": "bot", "accessKeyId": "AKIAXAFZN8JEPF6L682H"},
    )
    events, _ = _map(record)
    revoked = next(e for e in events if e["event_type"] == "credential_revoked")
    assert revoked["credential_id"] == "AKIAXAFZN8JEPF6L682H"
    assert revoked["attributes"]["revocation"] == "deleted"
    call = _primary(events)
    assert call["attributes"]["requestParameters"]["accessKeyId"].startswith("key-sha256:")
    assert normalize_event(call)["redacted_fields"] is None


@pytest.mark.parametrize(("status", "revoked"), [("Inactive", True), ("Active", False)])
def test_update_access_key_revokes_only_inactive(status, revoked):
    record = _record(
        eventName="UpdateAccessKey",
        requestParameters={
            "userName": "bot",
            "accessKeyId": "AKIAXAFZN8JEPF6L682H",
            "status": status,
        },
    )
    events, _ = _map(record)
    assert any(e["event_type"] == "credential_revoked" for e in events) is revoked


def test_create_access_key_sample_record():
    records = json.loads(ADMIN_USER.read_text())
    create = next(r for r in records if r["eventName"] == "CreateAccessKey")
    call = map_record(create)
    assert [effect["event_type"] for effect in call.effects] == ["credential_issued"]
    assert call.primary["attributes"]["responseElements"]["accessKey"]["accessKeyId"].startswith(
        "key-sha256:"
    )


def _web_identity_record(subject, provider):
    return _record(
        eventSource="sts.amazonaws.com",
        eventName="AssumeRoleWithWebIdentity",
        userIdentity={
            "type": "WebIdentityUser",
            "principalId": f"{provider}:aud:{subject}",
            "userName": subject,
            "identityProvider": provider,
        },
        requestParameters={
            "roleArn": "arn:aws:iam::229654561268:role/app",
            "roleSessionName": "s1",
        },
        responseElements={
            "credentials": {
                "accessKeyId": "ASIAQWERTYUIOPASDFGH",
                "expiration": "Aug 1, 2024, 2:33:28 PM",
                "sessionToken": "IQoJ" + "a" * 120,
            },
            "subjectFromWebIdentityToken": subject,
            "provider": provider,
            "assumedRoleUser": {"arn": "arn:aws:sts::229654561268:assumed-role/app/s1"},
        },
    )


def test_web_identity_of_person_is_delegated():
    events, _ = _map(_web_identity_record("alice@example.com", "accounts.google.com"))
    issued = next(e for e in events if e["event_type"] == "credential_issued")
    assert issued["principal_type"] == "delegated_user"
    assert issued["on_behalf_of"] == "alice@example.com"
    assert issued["credential_expires_at"] == "2024-08-01T14:33:28Z"
    assert issued["agent_id"] == "app/s1"
    call = _primary(events)
    assert call["attributes"]["responseElements"]["credentials"]["sessionToken"] == (
        "[omitted at import]"
    )


def test_web_identity_of_kubernetes_pod_is_workload():
    record = _web_identity_record(
        "system:serviceaccount:ci:runner", "oidc.eks.us-east-1.amazonaws.com/id/ABC"
    )
    issued = next(e for e in _map(record)[0] if e["event_type"] == "credential_issued")
    assert issued["principal_type"] == "workload"
    assert issued["auth_method"] == "workload_identity"
    assert "on_behalf_of" not in issued


def test_saml_session_is_delegated_to_subject():
    record = _record(
        eventSource="sts.amazonaws.com",
        eventName="AssumeRoleWithSAML",
        userIdentity={
            "type": "SAMLUser",
            "principalId": "x:bob",
            "userName": "bob@example.com",
            "identityProvider": "arn:aws:iam::229654561268:saml-provider/okta",
        },
        requestParameters={"roleArn": "arn:aws:iam::229654561268:role/admin"},
        responseElements={
            "credentials": {
                "accessKeyId": "ASIAZXCVBNMASDFGHJKL",
                "expiration": "2024-08-01T14:33:28Z",
            },
            "subject": "bob@example.com",
            "assumedRoleUser": {
                "arn": "arn:aws:sts::229654561268:assumed-role/admin/bob@example.com"
            },
        },
    )
    issued = next(e for e in _map(record)[0] if e["event_type"] == "credential_issued")
    assert issued["principal_type"] == "delegated_user"
    assert issued["on_behalf_of"] == "bob@example.com"
    assert issued["agent_id"] == "admin/bob@example.com"
    assert issued["credential_expires_at"] == "2024-08-01T14:33:28Z"


def test_source_identity_makes_session_delegated():
    identity = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::229654561268:assumed-role/deploy/ci-42",
        "accessKeyId": "ASIAPOIUYTREWQLKJHGF",
        "principalId": "AROA:ci-42",
        "sessionContext": {
            "sourceIdentity": "carol@example.com",
            "sessionIssuer": {
                "arn": "arn:aws:iam::229654561268:role/deploy",
                "userName": "deploy",
                "type": "Role",
            },
            "attributes": {"creationDate": "2024-08-01T13:00:00Z"},
        },
    }
    event = _primary(_map(_record(userIdentity=identity))[0])
    assert event["principal_type"] == "delegated_user"
    assert event["on_behalf_of"] == "carol@example.com"
    assert event["principal_id"] == "arn:aws:iam::229654561268:role/deploy"
    assert event["credential_expires_at"] == "2024-08-02T01:00:00Z"


def test_bursts_split_on_idle_gap():
    early = _record(eventID="a")
    near = _record(eventID="b", eventTime="2024-08-01T13:50:00Z")
    late = _record(eventID="c", eventTime="2024-08-01T15:00:00Z")
    other_agent = _record(eventID="d", userAgent="console.amazonaws.com")
    events, _ = _map(late, near, early, other_agent)
    tasks = {e["event_id"]: e["task_id"] for e in events if e["event_type"] == "tool_invoked"}
    assert tasks["a"] == tasks["b"]
    assert tasks["c"] != tasks["a"]
    assert tasks["d"] != tasks["a"]
    assert sum(e["event_type"] == "task_started" for e in events) == 3


def test_mapping_is_deterministic_in_any_order():
    records = [_record(eventID=str(i), eventTime=f"2024-08-01T13:3{i}:00Z") for i in range(5)]
    forward, _ = _map(*copy.deepcopy(records))
    backward, _ = _map(*reversed(copy.deepcopy(records)))
    assert forward == backward


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nov 30, 2024, 8:43:17 PM", datetime(2024, 11, 30, 20, 43, 17, tzinfo=UTC)),
        ("Aug 1, 2024 1:33:28 PM", datetime(2024, 8, 1, 13, 33, 28, tzinfo=UTC)),
        ("Sep 14, 2020, 12:05:00 AM", datetime(2020, 9, 14, 0, 5, tzinfo=UTC)),
        ("2024-08-01T14:33:28Z", datetime(2024, 8, 1, 14, 33, 28, tzinfo=UTC)),
        (1722519208000, datetime(2024, 8, 1, 13, 33, 28, tzinfo=UTC)),
        ("Foo 1, 2024, 1:00:00 PM", None),
        (None, None),
    ],
)
def test_parse_aws_time(text, expected):
    assert parse_aws_time(text) == expected


@pytest.mark.parametrize(
    ("name", "read_only", "action"),
    [
        ("GetObject", None, "read"),
        ("DescribeInstances", True, "read"),
        ("PutUserPolicy", False, "write"),
        ("AttachRolePolicy", False, "write"),
        ("DeleteAccessKey", False, "delete"),
        ("DetachUserPolicy", False, "delete"),
        ("InvokeModel", True, "execute"),
        ("SendCommand", False, "execute"),
        ("AssumeRole", True, "admin"),
        ("ExportSnapshot", False, "export"),
        ("ConsoleLogin", None, None),
        ("FrobnicateWidget", True, "read"),
        ("FrobnicateWidget", False, "write"),
    ],
)
def test_action_from_verb(name, read_only, action):
    assert action_for(name, read_only) == action


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (None, "success"),
        ("AccessDenied", "denied"),
        ("Client.UnauthorizedOperation", "denied"),
        ("AccessDeniedException", "denied"),
        ("ExpiredToken", "denied"),
        ("NoSuchEntity", "failure"),
        ("ThrottlingException", "failure"),
    ],
)
def test_outcome_from_error_code(code, outcome):
    assert outcome_for(code) == outcome


@pytest.mark.parametrize(
    ("source", "name", "scope"),
    [
        ("s3.amazonaws.com", "ListObjects", "s3:ListBucket"),
        ("monitoring.amazonaws.com", "DescribeAlarms", "cloudwatch:DescribeAlarms"),
        (
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            "lambda:UpdateFunctionConfiguration",
        ),
        ("iam.amazonaws.com", "CreateAccessKey", "iam:CreateAccessKey"),
    ],
)
def test_iam_scope_names(source, name, scope):
    assert iam_scope(source, name) == scope


@pytest.mark.parametrize(
    ("provider", "claims", "principal_type", "on_behalf_of"),
    [
        (
            "arn:aws:iam::229654561268:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC",
            {},
            "workload",
            None,
        ),
        (
            "accounts.google.com",
            {"accounts.google.com:sub": "1122334455"},
            "delegated_user",
            "1122334455",
        ),
    ],
    ids=["eks-pod", "google-user"],
)
def test_web_identity_session_calls(provider, claims, principal_type, on_behalf_of):
    identity = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::229654561268:assumed-role/app/s1",
        "accessKeyId": "ASIAPOIUYTREWQLKJHGF",
        "principalId": "AROA:s1",
        "sessionContext": {
            "webIdFederationData": {"federatedProvider": provider, "attributes": claims},
            "sessionIssuer": {
                "arn": "arn:aws:iam::229654561268:role/app",
                "userName": "app",
                "type": "Role",
            },
        },
    }
    event = _primary(_map(_record(userIdentity=identity))[0])
    assert event["principal_type"] == principal_type
    assert event.get("on_behalf_of") == on_behalf_of
    assert event["agent_id"] == "app/s1"


def _field_paths(record):
    for key, value in record.items():
        yield (key,)
        if isinstance(value, dict):
            for inner in value:
                yield (key, inner)


def test_odd_field_types_never_crash():
    records = json.loads(ADMIN_USER.read_text()) + json.loads(FEDERATION.read_text())
    for record in records:
        for path in _field_paths(record):
            for odd in (None, 7, "x", [], {}, [None]):
                changed = copy.deepcopy(record)
                target = changed
                for key in path[:-1]:
                    target = target[key]
                target[path[-1]] = odd
                rejected: list[Rejected] = []
                events = list(cloudtrail_events([changed], on_reject=rejected.append))
                assert len(events) + len(rejected) >= 1, (path, odd)
                assert not any(r.reason.startswith("mapping failed") for r in rejected), (path, odd)


def test_unexpected_mapping_error_quarantines_record(monkeypatch):
    import pipelines.sources.cloudtrail as cloudtrail

    def broken(record):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(cloudtrail, "map_record", broken)
    events, rejected = _map(_record())
    assert events == []
    assert rejected[0].reason == (
        "mapping failed on an unexpected value: TypeError: unsupported operand"
    )
