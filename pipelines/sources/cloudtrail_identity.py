"""Caller identity of CloudTrail records: agent, principal and credential from userIdentity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipelines.sources.common import as_object, as_text

# Upper bounds on the life of AWS STS credentials (DurationSeconds in the AWS STS API
# reference): a role session lasts at most 12 hours, a session or federation token 36 hours.
# When the issue of a temporary key is outside the imported logs, its expiry is reported as
# issue time plus this bound, so the key is not mistaken for a standing one.
MAX_ROLE_SESSION = timedelta(hours=12)
MAX_SESSION_TOKEN = timedelta(hours=36)

# Web identity providers and subjects that belong to workloads, not people.
WORKLOAD_SUBJECT_PREFIXES = ("system:serviceaccount:", "repo:")
WORKLOAD_PROVIDERS = ("token.actions.githubusercontent.com", "oidc.eks.")


@dataclass
class Caller:
    """The acting identity of one CloudTrail record, in contract terms."""

    agent_id: str
    agent_kind: str
    principal_id: str | None
    principal_type: str | None
    on_behalf_of: str | None = None
    auth_method: str | None = None
    credential_id: str | None = None
    # True when credential_id is an STS key (ASIA), whose life is bounded.
    temporary_key: bool = False
    session_created_at: str | None = None
    session_bound: timedelta | None = None


def arn_resource(arn: str | None) -> str:
    """Return the part of an ARN after the account field, e.g. 'assumed-role/r/s'."""
    if not arn:
        return ""
    parts = arn.split(":", 5)
    return parts[5] if len(parts) == 6 else ""


def arn_partition(arn: str | None) -> str:
    """Return the partition of an ARN (aws, aws-cn, aws-us-gov), 'aws' when unknown."""
    if arn and arn.startswith("arn:"):
        return arn.split(":")[1] or "aws"
    return "aws"


def is_workload_web_identity(provider: str | None, subject: str | None) -> bool:
    """Tell whether a web identity belongs to a workload (a Kubernetes or CI identity)."""
    if subject and subject.startswith(WORKLOAD_SUBJECT_PREFIXES):
        return True
    return bool(provider) and any(marker in provider for marker in WORKLOAD_PROVIDERS)


def _session_issuer(identity: dict[str, Any]) -> dict[str, Any]:
    return as_object(as_object(identity.get("sessionContext")).get("sessionIssuer"))


def _assumed_role_caller(identity: dict[str, Any]) -> Caller:
    issuer = _session_issuer(identity)
    context = as_object(identity.get("sessionContext"))
    resource = arn_resource(as_text(identity.get("arn")))  # assumed-role/<role>/<session>
    pieces = resource.split("/")
    role_name = as_text(issuer.get("userName")) or (pieces[1] if len(pieces) > 2 else None)
    session_name = pieces[-1] if len(pieces) > 2 else None
    if not session_name:
        principal = as_text(identity.get("principalId")) or ""
        session_name = principal.split(":", 1)[1] if ":" in principal else None
    agent_id = "/".join(part for part in (role_name, session_name) if part) or as_text(
        identity.get("principalId")
    )

    caller = Caller(
        agent_id=agent_id,
        agent_kind="aws_role_session",
        principal_id=as_text(issuer.get("arn")) or as_text(identity.get("arn")),
        principal_type="workload",
        auth_method="sts_assume_role",
        session_bound=MAX_ROLE_SESSION,
    )
    federation = as_object(context.get("webIdFederationData"))
    source_identity = as_text(context.get("sourceIdentity")) or as_text(
        identity.get("sourceIdentity")
    )
    on_behalf = as_object(identity.get("onBehalfOf"))

    if federation.get("federatedProvider"):
        provider = str(federation["federatedProvider"])
        claims = as_object(federation.get("attributes"))
        # Claims appear as "<provider>:sub"; many providers record none.
        subject = next((str(v) for k, v in claims.items() if str(k).endswith(":sub")), None)
        if is_workload_web_identity(provider, subject):
            caller.auth_method = "workload_identity"
        else:
            caller.principal_type = "delegated_user"
            caller.on_behalf_of = subject or source_identity
            caller.auth_method = "sts_web_identity"
    elif on_behalf.get("userId"):
        caller.principal_type = "delegated_user"
        caller.on_behalf_of = str(on_behalf["userId"])
        caller.auth_method = "identity_center"
    elif source_identity:
        caller.principal_type = "delegated_user"
        caller.on_behalf_of = source_identity
    return caller


def caller_from_identity(identity: Any) -> Caller | None:
    """Map a CloudTrail userIdentity to the acting agent and principal; None when unknown."""
    if not isinstance(identity, dict):
        return None
    kind = identity.get("type")
    arn = as_text(identity.get("arn"))
    if kind == "AssumedRole":
        caller = _assumed_role_caller(identity)
    elif kind == "IAMUser":
        caller = Caller(
            agent_id=as_text(identity.get("userName")) or arn_resource(arn).split("/")[-1] or None,
            agent_kind="aws_iam_user",
            principal_id=arn,
            principal_type="service_account",
            auth_method="api_key",
        )
    elif kind == "FederatedUser":
        name = arn_resource(arn).split("/")[-1] or None
        caller = Caller(
            agent_id=name,
            agent_kind="aws_federated_user",
            principal_id=_session_issuer(identity).get("arn") or arn,
            principal_type="delegated_user",
            on_behalf_of=name,
            auth_method="sts_federation_token",
            session_bound=MAX_SESSION_TOKEN,
        )
    elif kind == "Root":
        caller = Caller(
            agent_id=f"{identity.get('accountId') or 'unknown-account'}:root",
            agent_kind="aws_root",
            principal_id=arn,
            principal_type="service_account",
            auth_method="api_key",
        )
    elif kind == "AWSService":
        service = as_text(identity.get("invokedBy"))
        if not service:
            return None
        caller = Caller(
            agent_id=service,
            agent_kind="aws_service",
            principal_id=f"service:{service}",
            principal_type="service_account",
        )
    elif kind in ("WebIdentityUser", "SAMLUser"):
        subject = as_text(identity.get("userName")) or as_text(identity.get("principalId"))
        provider = as_text(identity.get("identityProvider"))
        workload = kind == "WebIdentityUser" and is_workload_web_identity(provider, subject)
        caller = Caller(
            agent_id=subject,
            agent_kind="aws_web_identity" if kind == "WebIdentityUser" else "aws_saml_user",
            principal_id=f"{provider}:{subject}" if provider else subject,
            principal_type="workload" if workload else "delegated_user",
            on_behalf_of=None if workload else subject,
            auth_method="workload_identity" if workload else kind.lower(),
        )
    else:
        # AWSAccount, IdentityCenterUser, Unknown and future types: keep whatever id exists.
        agent = (
            as_text(identity.get("userName"))
            or arn_resource(arn)
            or as_text(identity.get("principalId"))
        )
        if not agent:
            return None
        caller = Caller(
            agent_id=agent,
            agent_kind=f"aws_{str(kind or 'unknown').lower()}",
            principal_id=arn or as_text(identity.get("principalId")),
            principal_type=None,
        )
        on_behalf = as_object(identity.get("onBehalfOf"))
        if on_behalf.get("userId"):
            caller.principal_type = "delegated_user"
            caller.on_behalf_of = on_behalf["userId"]
    if not caller.agent_id:
        return None

    key = as_text(identity.get("accessKeyId"))
    if key is not None:
        caller.credential_id = key
        caller.temporary_key = key.startswith("ASIA")
        if caller.temporary_key and caller.session_bound is None:
            caller.session_bound = MAX_SESSION_TOKEN
    context = as_object(identity.get("sessionContext"))
    caller.session_created_at = as_text(as_object(context.get("attributes")).get("creationDate"))
    return caller


def expiry_bound(caller: Caller, first_seen: datetime, created: datetime | None) -> datetime | None:
    """Return the latest possible expiry of the caller's temporary key, or None if standing."""
    if not caller.temporary_key or caller.session_bound is None:
        return None
    return (created or first_seen) + caller.session_bound
