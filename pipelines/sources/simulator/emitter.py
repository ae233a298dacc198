"""Deterministic ids and the builders that turn simulated steps into contract v1 events.

Every id derives from the seed and the agent, never from the wall clock or a global
counter, so the same seed gives the same event_ids whatever order agents are simulated in.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.sources.simulator.catalogue import Tool

SOURCE = "agentaudit-simulator"
TENANT = "acme"
ENVIRONMENT = "prod"


def stable_id(prefix: str, *parts: object) -> str:
    """Return `<prefix>-<16 hex digits>` derived from `parts`."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()
    return f"{prefix}-{digest[:16]}"


def format_time(moment: datetime) -> str:
    """Format a UTC time as ISO-8601 with milliseconds and a Z suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Credential:
    """A credential as the simulator tracks it; `expires_at` None means standing."""

    credential_id: str
    issued_at: datetime | None
    expires_at: datetime | None

    def fields(self) -> dict[str, Any]:
        return {
            "credential_id": self.credential_id,
            "credential_issued_at": format_time(self.issued_at) if self.issued_at else None,
            "credential_expires_at": format_time(self.expires_at) if self.expires_at else None,
        }


@dataclass
class Principal:
    """The identity an action executes under, with its auth method and credential."""

    principal_id: str
    principal_type: str
    auth_method: str
    credential: Credential | None = None
    on_behalf_of: str | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "principal_id": self.principal_id,
            "principal_type": self.principal_type,
            "on_behalf_of": self.on_behalf_of,
            "auth_method": self.auth_method,
        }


class AgentEmitter:
    """Builds the events of one agent, numbering them for their ids."""

    def __init__(self, seed: int, agent_id: str, agent_kind: str, sink: list[dict]):
        self.seed = seed
        self.agent_id = agent_id
        self.agent_kind = agent_kind
        self.sink = sink
        self.count = 0

    def emit(self, moment: datetime, event_type: str, **fields: Any) -> dict[str, Any]:
        """Append one event at `moment` to the sink and return it; None fields are left out."""
        self.count += 1
        digest = hashlib.sha256(f"{self.seed}|{self.agent_id}|{self.count}".encode()).digest()
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(bytes=digest[:16], version=4)),
            "schema_version": "1",
            "event_time": format_time(moment),
            "event_type": event_type,
            "agent_id": self.agent_id,
            "agent_kind": self.agent_kind,
        }
        event.update({key: value for key, value in fields.items() if value is not None})
        event.update(source=SOURCE, tenant=TENANT, environment=ENVIRONMENT)
        self.sink.append(event)
        return event


@dataclass
class TaskRun:
    """One task being simulated: its clock, its chain of events and its step counter."""

    emitter: AgentEmitter
    rng: random.Random
    task_id: str
    run_id: str
    initiated_by: str
    clock: datetime
    principal: Principal
    step: int = 0
    last_event_id: str | None = None
    events: list[dict] = field(default_factory=list)

    def event(self, event_type: str, *, principal: Principal | None = None, **fields: Any) -> dict:
        """Emit one event of this task, a few seconds after the previous one."""
        self.clock += timedelta(milliseconds=self.rng.randint(400, 6000))
        self.step += 1
        acting = principal or self.principal
        event = self.emitter.emit(
            self.clock,
            event_type,
            run_id=self.run_id,
            task_id=self.task_id,
            parent_event_id=self.last_event_id,
            step=self.step,
            initiated_by=self.initiated_by,
            **{**acting.fields(), **fields},
        )
        self.last_event_id = event["event_id"]
        self.events.append(event)
        return event

    def wait(self, seconds: float) -> None:
        """Let time pass inside the task, e.g. while the model thinks between two steps."""
        self.clock += timedelta(seconds=seconds)

    def start(self, **fields: Any) -> dict:
        return self.event("task_started", **fields)

    def complete(self) -> dict:
        return self.event("task_completed", outcome="success")

    def fail(self, reason: str) -> dict:
        return self.event("task_failed", outcome="failure", reason=reason)

    def call(
        self,
        tool: Tool,
        *,
        principal: Principal | None = None,
        approval_id: str | None = None,
        approver: str | None = None,
        denied: bool = False,
        system: str | None = None,
        classification: str | None = None,
        scopes: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict:
        """Emit one tool call: selection, policy decision, optional approval, use and invocation.

        Only tool_invoked carries the data classification, so the approval always precedes
        the one event that the approval rule inspects. A denied call stops at the policy
        decision, which then carries outcome denied. Returns the last event.
        """
        acting = principal or self.principal
        system = system or tool.system
        scopes = scopes or [tool.scope]
        resource = f"{tool.resource_prefix}/{self.rng.randint(1000, 99999)}"
        self.event(
            "tool_selected", principal=acting, tool=tool.name, action=tool.action, system=system
        )
        policy_id = f"policy.{self.emitter.agent_kind}.{tool.system}"
        if denied:
            return self.event(
                "policy_evaluated",
                principal=acting,
                tool=tool.name,
                scopes=scopes,
                policy_id=policy_id,
                decision="deny",
                outcome="denied",
                reason=f"scope {scopes[0]} is not granted on {resource}",
            )
        self.event(
            "policy_evaluated",
            principal=acting,
            tool=tool.name,
            scopes=scopes,
            policy_id=policy_id,
            decision="allow",
            reason="scope granted",
        )
        if approval_id:
            self.event(
                "approval_granted",
                principal=acting,
                tool=tool.name,
                approval_id=approval_id,
                approver=approver,
                resource=resource,
            )
        credential = acting.credential.fields() if acting.credential else {}
        self.event(
            "credential_used",
            principal=acting,
            scopes=scopes,
            tool=tool.name,
            outcome="success",
            **credential,
        )
        return self.event(
            "tool_invoked",
            principal=acting,
            tool=tool.name,
            action=tool.action,
            resource=resource,
            system=system,
            data_classification=classification or tool.classification,
            scopes=scopes,
            credential_id=credential.get("credential_id"),
            approval_id=approval_id,
            outcome="success",
            **(extra or {}),
        )
