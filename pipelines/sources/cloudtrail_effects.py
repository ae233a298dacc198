"""Effects of successful CloudTrail calls: credentials issued or revoked, grants added or removed.

Each function receives the record and its caller and returns the effect events of the
call (without task_id, which the batch mapper assigns). The caller's own tool_invoked
event is built elsewhere.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from pipelines.sources.cloudtrail_identity import (
    Caller,
    arn_partition,
    arn_resource,
    is_workload_web_identity,
)
from pipelines.sources.common import as_object, as_text, isoformat, parse_iso_utc

log = logging.getLogger(__name__)

STS_ISSUE_CALLS = {
    "AssumeRole": "sts_assume_role",
    "AssumeRoleWithWebIdentity": "sts_web_identity",
    "AssumeRoleWithSAML": "sts_saml",
    "GetSessionToken": "sts_session_token",
    "GetFederationToken": "sts_federation_token",
}

# IAM calls that attach or remove a policy or group: (event type, target kind, inline policy).
IAM_GRANT_CALLS: dict[str, tuple[str, str, bool]] = {
    "AttachUserPolicy": ("grant_added", "user", False),
    "AttachRolePolicy": ("grant_added", "role", False),
    "AttachGroupPolicy": ("grant_added", "group", False),
    "PutUserPolicy": ("grant_added", "user", True),
    "PutRolePolicy": ("grant_added", "role", True),
    "PutGroupPolicy": ("grant_added", "group", True),
    "DetachUserPolicy": ("grant_removed", "user", False),
    "DetachRolePolicy": ("grant_removed", "role", False),
    "DetachGroupPolicy": ("grant_removed", "group", False),
    "DeleteUserPolicy": ("grant_removed", "user", True),
    "DeleteRolePolicy": ("grant_removed", "role", True),
    "DeleteGroupPolicy": ("grant_removed", "group", True),
}
IAM_GROUP_MEMBERSHIP_CALLS = {
    "AddUserToGroup": "grant_added",
    "RemoveUserFromGroup": "grant_removed",
}

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
# CloudTrail writes STS expirations like "Nov 30, 2024, 8:43:17 PM" (UTC), older records
# without the second comma; some services write ISO-8601 or epoch milliseconds instead.
_AWS_DATE = re.compile(
    r"^(?P<mon>[A-Z][a-z]{2}) (?P<day>\d{1,2}), (?P<year>\d{4}),? "
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2}) (?P<ampm>AM|PM)$"
)


def parse_aws_time(value: Any) -> datetime | None:
    """Parse a CloudTrail response timestamp (AWS text form, ISO-8601 or epoch ms) as UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000.0, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    match = _AWS_DATE.match(value.strip())
    if match is None:
        return parse_iso_utc(value)
    month = _MONTHS.get(match["mon"])
    if month is None:
        return None
    hour = int(match["hour"]) % 12 + (12 if match["ampm"] == "PM" else 0)
    try:
        return datetime(
            int(match["year"]),
            month,
            int(match["day"]),
            hour,
            int(match["minute"]),
            int(match["second"]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def iam_target_arn(record: dict[str, Any], caller: Caller, kind: str, name: str) -> str:
    """Build the ARN of an IAM user, role or group named in a request.

    The request carries only the name, so an entity created under a path (/team/) gets
    an ARN without it and will not match the ARN that entity shows as a caller.
    """
    account = record.get("recipientAccountId") or as_object(record.get("userIdentity")).get(
        "accountId"
    )
    partition = arn_partition(caller.principal_id)
    return f"arn:{partition}:iam::{account}:{kind}/{name}"


def policy_actions(document: Any) -> list[str] | None:
    """Return the sorted Action values allowed by a policy document (JSON text), or None."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return None
    if not isinstance(document, dict):
        return None
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    actions: set[str] = set()
    for statement in statements or []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        action = statement.get("Action")
        actions.update([action] if isinstance(action, str) else action or [])
    return sorted(str(action) for action in actions)


def _base_event(record: dict[str, Any], suffix: str, event_type: str) -> dict[str, Any]:
    return {
        "event_id": f"{record['eventID']}:{suffix}",
        "schema_version": "1",
        "event_time": record["_event_time"],
        "event_type": event_type,
        "source": "cloudtrail",
        "tenant": record.get("recipientAccountId"),
        "attributes": {"derived_from_event_id": record["eventID"]},
    }


def sts_credential_issued(record: dict[str, Any], caller: Caller) -> dict[str, Any] | None:
    """Map a successful STS token call to credential_issued for the new session."""
    name = record.get("eventName")
    request = as_object(record.get("requestParameters"))
    response = as_object(record.get("responseElements"))
    credentials = as_object(response.get("credentials"))
    key = as_text(credentials.get("accessKeyId"))
    if key is None:
        log.info("event %s: %s response has no access key id", record.get("eventID"), name)
        return None
    expires = parse_aws_time(credentials.get("expiration"))
    event = _base_event(record, "credential_issued", "credential_issued")
    event.update(
        credential_id=key,
        credential_issued_at=record["_event_time"],
        credential_expires_at=isoformat(expires) if expires else None,
        auth_method=STS_ISSUE_CALLS[name],
        initiated_by=caller.principal_id,
    )
    if expires is None:
        event["attributes"]["expiration_raw"] = credentials.get("expiration")

    if name in ("AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"):
        assumed = as_text(as_object(response.get("assumedRoleUser")).get("arn"))
        role_arn = as_text(request.get("roleArn"))
        resource = arn_resource(assumed).split("/")
        role_name = arn_resource(role_arn).split("/")[-1] if role_arn else None
        session = as_text(request.get("roleSessionName")) or (
            resource[-1] if len(resource) > 2 else None
        )
        if role_name is None and len(resource) > 2:
            role_name = resource[1]
        event.update(
            agent_id="/".join(part for part in (role_name, session) if part),
            agent_kind="aws_role_session",
            principal_id=role_arn or assumed,
            principal_type="workload",
        )
        source_identity = request.get("sourceIdentity") or response.get("sourceIdentity")
        if name == "AssumeRoleWithWebIdentity":
            subject = response.get("subjectFromWebIdentityToken")
            provider = response.get("provider")
            if not is_workload_web_identity(provider, subject):
                event.update(principal_type="delegated_user", on_behalf_of=subject)
            else:
                event["auth_method"] = "workload_identity"
        elif name == "AssumeRoleWithSAML":
            event.update(principal_type="delegated_user", on_behalf_of=response.get("subject"))
        elif source_identity:
            event.update(principal_type="delegated_user", on_behalf_of=source_identity)
    elif name == "GetFederationToken":
        federated = (
            as_text(request.get("name"))
            or arn_resource(as_text(as_object(response.get("federatedUser")).get("arn"))).split(
                "/"
            )[-1]
        )
        event.update(
            agent_id=federated,
            agent_kind="aws_federated_user",
            principal_id=caller.principal_id,
            principal_type="delegated_user",
            on_behalf_of=federated,
        )
        actions = policy_actions(request.get("policy"))
        if actions is not None:
            event["attributes"]["session_policy_actions"] = actions
    else:  # GetSessionToken: the same user, now with a session key.
        event.update(
            agent_id=caller.agent_id,
            agent_kind=caller.agent_kind,
            principal_id=caller.principal_id,
            principal_type=caller.principal_type,
            on_behalf_of=caller.on_behalf_of,
        )
    if not event.get("agent_id"):
        event["agent_id"] = caller.agent_id
    return event


def iam_effects(record: dict[str, Any], caller: Caller) -> list[dict[str, Any]]:
    """Map a successful IAM call that changes grants or access keys to its effect events."""
    name = record.get("eventName")
    request = as_object(record.get("requestParameters"))
    response = as_object(record.get("responseElements"))
    if name in IAM_GRANT_CALLS:
        event_type, kind, inline = IAM_GRANT_CALLS[name]
        target = as_text(request.get(f"{kind}Name"))
        policy = as_text(request.get("policyName" if inline else "policyArn"))
        if not target or not policy:
            return []
        event = _target_event(record, caller, event_type, kind, target)
        event["scopes"] = [f"inline:{policy}" if inline else policy]
        if inline:
            actions = policy_actions(request.get("policyDocument"))
            if actions is not None:
                event["attributes"]["policy_actions"] = actions
        return [event]
    if name in IAM_GROUP_MEMBERSHIP_CALLS:
        user, group = as_text(request.get("userName")), as_text(request.get("groupName"))
        if not user or not group:
            return []
        event = _target_event(record, caller, IAM_GROUP_MEMBERSHIP_CALLS[name], "user", user)
        event["scopes"] = [iam_target_arn(record, caller, "group", group)]
        return [event]
    if name == "CreateAccessKey":
        access_key = as_object(response.get("accessKey"))
        key = as_text(access_key.get("accessKeyId"))
        user = (
            as_text(access_key.get("userName"))
            or as_text(request.get("userName"))
            or caller.agent_id
        )
        if not key:
            return []
        event = _target_event(record, caller, "credential_issued", "user", user)
        # An IAM access key has no expiry: it is standing until deleted or deactivated.
        event.update(
            credential_id=key,
            credential_issued_at=record["_event_time"],
            credential_expires_at=None,
            auth_method="api_key",
        )
        event["attributes"]["access_key_status"] = access_key.get("status")
        return [event]
    if name in ("DeleteAccessKey", "UpdateAccessKey"):
        key = as_text(request.get("accessKeyId"))
        if not key or (name == "UpdateAccessKey" and request.get("status") != "Inactive"):
            return []
        user = as_text(request.get("userName")) or caller.agent_id
        event = _target_event(record, caller, "credential_revoked", "user", user)
        event["credential_id"] = key
        event["attributes"]["revocation"] = (
            "deleted" if name == "DeleteAccessKey" else "deactivated"
        )
        return [event]
    return []


def _target_event(
    record: dict[str, Any], caller: Caller, event_type: str, kind: str, name: str
) -> dict[str, Any]:
    """Build an effect event about an IAM user, role or group: the target is the principal."""
    event = _base_event(record, event_type, event_type)
    event.update(
        agent_id=name,
        agent_kind={"user": "aws_iam_user", "role": "aws_role", "group": "aws_iam_group"}[kind],
        principal_id=iam_target_arn(record, caller, kind, name),
        principal_type="workload" if kind == "role" else "service_account",
        initiated_by=caller.principal_id,
    )
    event["attributes"]["changed_by_agent_id"] = caller.agent_id
    return event
