"""A small fleet for the investigation tests, with known figures.

agent-support-1 (support_bot) works under service account svc-support. Its credential
cred-task-1 is issued for task task-1, outlives the task, is used again in task-2, is
used by agent-research-2 in task-3, and is revoked afterwards. agent-research-2 acts for
user bob with delegated authority. Events span two UTC days, 2026-03-09 and 2026-03-10.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DAY_ONE = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
DAY_TWO = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

SUPPORT_AGENT = "agent-support-1"
RESEARCH_AGENT = "agent-research-2"
TASK_CREDENTIAL = "cred-task-1"
STANDING_CREDENTIAL = "cred-standing-9"


def _event(event_id: str, when: datetime, event_type: str, agent_id: str, **fields) -> dict:
    return {
        "event_id": event_id,
        "schema_version": "1",
        "event_time": when,
        "event_type": event_type,
        "agent_id": agent_id,
        "agent_kind": "support_bot" if agent_id == SUPPORT_AGENT else "research_assistant",
        "source": "test-gateway",
        "environment": "prod",
        **fields,
    }


def support_agent_events() -> list[dict]:
    svc = {"principal_id": "svc-support", "principal_type": "service_account"}
    minute = timedelta(minutes=1)
    return [
        _event("e-001", DAY_ONE, "grant_added", SUPPORT_AGENT, **svc,
               scopes=["crm.read", "crm.write", "billing.export"]),
        _event("e-002", DAY_ONE + 10 * minute, "task_started", SUPPORT_AGENT, task_id="task-1",
               run_id="run-1", initiated_by="alice"),
        _event("e-003", DAY_ONE + 11 * minute, "credential_issued", SUPPORT_AGENT, **svc,
               task_id="task-1", run_id="run-1", credential_id=TASK_CREDENTIAL,
               auth_method="oauth_client_credentials",
               credential_issued_at=DAY_ONE + 11 * minute,
               credential_expires_at=DAY_ONE + 71 * minute),
        _event("e-004", DAY_ONE + 12 * minute, "tool_invoked", SUPPORT_AGENT, **svc,
               task_id="task-1", run_id="run-1", credential_id=TASK_CREDENTIAL,
               tool="crm.update_contact", action="write", system="crm", resource="contact/42",
               scopes=["crm.write"], outcome="success"),
        _event("e-005", DAY_ONE + 20 * minute, "task_completed", SUPPORT_AGENT, task_id="task-1",
               run_id="run-1"),
        _event("e-006", DAY_TWO, "task_started", SUPPORT_AGENT, task_id="task-2", run_id="run-2",
               initiated_by="carol"),
        _event("e-007", DAY_TWO + minute, "credential_used", SUPPORT_AGENT, **svc,
               task_id="task-2", run_id="run-2", credential_id=TASK_CREDENTIAL,
               tool="crm.export_contacts", action="export", system="crm", resource="contacts",
               scopes=["crm.read"], outcome="success"),
        _event("e-008", DAY_TWO + 2 * minute, "credential_used", SUPPORT_AGENT, **svc,
               task_id="task-2", run_id="run-2", credential_id=STANDING_CREDENTIAL,
               auth_method="api_key", tool="billing.read", action="read", system="billing",
               resource="invoice/7", outcome="success"),
        _event("e-009", DAY_TWO + 5 * minute, "task_completed", SUPPORT_AGENT, task_id="task-2",
               run_id="run-2"),
    ]


def research_agent_events() -> list[dict]:
    delegated = {"principal_id": "user-bob", "principal_type": "delegated_user",
                 "on_behalf_of": "bob", "auth_method": "oauth_delegated"}
    minute = timedelta(minutes=1)
    return [
        _event("e-101", DAY_TWO + 30 * minute, "task_started", RESEARCH_AGENT, task_id="task-3",
               run_id="run-3", initiated_by="bob"),
        _event("e-102", DAY_TWO + 31 * minute, "tool_invoked", RESEARCH_AGENT, **delegated,
               task_id="task-3", run_id="run-3", tool="docs.search", action="read",
               system="docs", resource="wiki", scopes=["docs.read"], outcome="success"),
        _event("e-103", DAY_TWO + 32 * minute, "credential_used", RESEARCH_AGENT,
               principal_id="svc-support", principal_type="service_account",
               task_id="task-3", run_id="run-3", credential_id=TASK_CREDENTIAL,
               tool="crm.export_contacts", action="export", system="crm", resource="contacts",
               scopes=["crm.read"], outcome="success"),
        _event("e-104", DAY_TWO + 33 * minute, "policy_evaluated", RESEARCH_AGENT, **delegated,
               task_id="task-3", run_id="run-3", policy_id="no-bulk-export", decision="deny",
               reason="bulk export needs approval", outcome="denied"),
        _event("e-105", DAY_TWO + 40 * minute, "task_completed", RESEARCH_AGENT, task_id="task-3",
               run_id="run-3"),
        _event("e-106", DAY_TWO + 50 * minute, "credential_revoked", SUPPORT_AGENT,
               principal_id="svc-support", principal_type="service_account",
               credential_id=TASK_CREDENTIAL),
    ]


def fleet_events() -> list[dict]:
    return support_agent_events() + research_agent_events()
