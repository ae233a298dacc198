"""CloudTrail names in contract terms: action from the API verb, outcome from errorCode, scopes."""

from __future__ import annotations

import re
from typing import Any

# Leading verb of an API name -> contract action. The first match in this order wins, so
# longer verbs come before their prefixes (BatchGet before Batch...).
_VERB_ACTIONS: tuple[tuple[str, str], ...] = (
    ("AssumeRole", "admin"),
    ("GetSessionToken", "admin"),
    ("GetFederationToken", "admin"),
    ("BatchGet", "read"),
    ("Export", "export"),
    ("Download", "export"),
    ("Get", "read"),
    ("List", "read"),
    ("Describe", "read"),
    ("Head", "read"),
    ("Lookup", "read"),
    ("Search", "read"),
    ("Scan", "read"),
    ("Query", "read"),
    ("Select", "read"),
    ("Check", "read"),
    ("Validate", "read"),
    ("Simulate", "read"),
    ("Filter", "read"),
    ("Invoke", "execute"),
    ("Execute", "execute"),
    ("Run", "execute"),
    ("Send", "execute"),
    ("StartSession", "execute"),
    ("Converse", "execute"),
    ("Delete", "delete"),
    ("Detach", "delete"),
    ("Remove", "delete"),
    ("Terminate", "delete"),
    ("Deregister", "delete"),
    ("Disassociate", "delete"),
    ("Revoke", "delete"),
    ("Purge", "delete"),
    ("Put", "write"),
    ("Create", "write"),
    ("Attach", "write"),
    ("Update", "write"),
    ("Modify", "write"),
    ("Set", "write"),
    ("Add", "write"),
    ("Associate", "write"),
    ("Register", "write"),
    ("Enable", "write"),
    ("Disable", "write"),
    ("Tag", "write"),
    ("Untag", "write"),
    ("Upload", "write"),
    ("Copy", "write"),
    ("Restore", "write"),
    ("Import", "write"),
    ("Replace", "write"),
    ("Change", "write"),
    ("Reset", "write"),
    ("Start", "write"),
    ("Stop", "write"),
    ("Reboot", "write"),
    ("Authorize", "write"),
    ("Accept", "write"),
    ("Cancel", "write"),
)

# errorCode values that mean the caller was not allowed, as opposed to a failed call.
_DENIED_CODE = re.compile(
    r"AccessDenied|UnauthorizedOperation|UnauthorizedAccess|NotAuthorized|Forbidden"
    r"|InvalidClientTokenId|SignatureDoesNotMatch|ExpiredToken|InvalidToken",
    re.IGNORECASE,
)

# eventSource prefixes whose IAM service prefix differs from the endpoint name.
_SERVICE_PREFIXES = {"monitoring": "cloudwatch", "email": "ses", "runtime.sagemaker": "sagemaker"}
# API names whose IAM action has another name (IAM Service Authorization Reference).
_IAM_ACTION_NAMES = {
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("bedrock", "InvokeModelWithResponseStream"): "InvokeModelWithResponseStream",
}
# Lambda and a few older APIs append their API version to the event name.
_VERSION_SUFFIX = re.compile(r"\d{8}(v\d+)?$")


def action_for(event_name: str, read_only: Any) -> str | None:
    """Return the contract action of an API call from its verb, else from readOnly."""
    for verb, action in _VERB_ACTIONS:
        if event_name.startswith(verb):
            return action
    if read_only is True or read_only == "true":
        return "read"
    if read_only is False or read_only == "false":
        return "write"
    return None


def outcome_for(error_code: Any) -> str:
    """Return success, denied (an authorization error) or failure from a CloudTrail errorCode."""
    if not error_code:
        return "success"
    return "denied" if _DENIED_CODE.search(str(error_code)) else "failure"


def service_prefix(event_source: str) -> str:
    """Return the IAM service prefix of an eventSource, e.g. iam.amazonaws.com -> iam."""
    name = event_source.removesuffix(".amazonaws.com")
    return _SERVICE_PREFIXES.get(name, name.split(".")[0])


def iam_scope(event_source: str, event_name: str) -> str:
    """Return the IAM action of a call as a scope, e.g. s3:ListBucket for ListObjects.

    The API name stands for the IAM action except for the renamed calls listed above, so a
    call that needs several actions is recorded under its API name only.
    """
    prefix = service_prefix(event_source)
    name = _VERSION_SUFFIX.sub("", event_name) or event_name
    return f"{prefix}:{_IAM_ACTION_NAMES.get((prefix, name), name)}"


_RESOURCE_PARAMETERS = ("roleArn", "policyArn", "functionName", "modelId", "secretId", "keyId")


def resource_for(record: dict[str, Any]) -> str | None:
    """Return what a call touched: the first resource ARN, else a known request parameter."""
    resources = record.get("resources")
    for resource in resources if isinstance(resources, list) else []:
        if isinstance(resource, dict) and resource.get("ARN"):
            return str(resource["ARN"])
    request = record.get("requestParameters")
    if not isinstance(request, dict):
        return None
    bucket = request.get("bucketName")
    if isinstance(bucket, str):
        key = request.get("key")
        return f"arn:aws:s3:::{bucket}/{key}" if isinstance(key, str) else f"arn:aws:s3:::{bucket}"
    for name in _RESOURCE_PARAMETERS:
        if isinstance(request.get(name), str):
            return request[name]
    instance = request.get("instanceId")
    if isinstance(instance, str):
        return instance
    instances = request.get("instanceIds")
    if isinstance(instances, list) and instances and isinstance(instances[0], str):
        return instances[0]
    for kind in ("userName", "roleName", "groupName"):
        if isinstance(request.get(kind), str):
            return f"{kind.removesuffix('Name')}/{request[kind]}"
    return None
