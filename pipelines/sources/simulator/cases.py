"""Injected misbehaviour: one case per rule variant, each carried by its own agent.

A case names the rule it must trip and the entity the alert must be about; `truth_rows`
turns it into ground-truth rows. `setup` runs before the period (for example, a grant that
is never used), `run` on the case's day after the agent's normal work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pipelines.sources.simulator.catalogue import (
    AGENT_KINDS,
    DEV_ASSISTANT,
    RESEARCH_ASSISTANT,
    SUPPORT_BOT,
    TOOLS,
    Tool,
)
from pipelines.sources.simulator.emitter import Credential, Principal, stable_id

if TYPE_CHECKING:
    from pipelines.sources.simulator.agent import AgentSim
    from pipelines.sources.simulator.fleet import AgentPlan

# Entity kinds, as the ground truth table of docs/architecture.md names them.
PRINCIPAL, TASK, CREDENTIAL, AGENT = "principal", "task", "credential", "agent"


@dataclass(frozen=True)
class Case:
    """One injected misbehaviour and the alert it must raise."""

    name: str
    rule_id: str
    variant: str
    kind: str
    entity_type: str
    summary: str
    run: Callable[[AgentSim, int], None]
    setup: Callable[[AgentSim], None] | None = None
    # Other (rule_id, entity_type) pairs the case legitimately trips on the same entity.
    also: tuple[tuple[str, str], ...] = ()


def case_task_id(seed: int, agent_id: str, case_name: str, part: int = 0) -> str:
    return stable_id("task", seed, agent_id, "case", case_name, part)


def case_credential_id(seed: int, agent_id: str, case_name: str) -> str:
    return stable_id("cred", seed, agent_id, "case", case_name)


def legacy_principal_id(agent_id: str) -> str:
    return f"sa:{agent_id}.legacy"


def entity_id(case: Case, seed: int, agent: AgentPlan) -> str:
    """Return the id of the entity the alert of `case` must name."""
    if case.entity_type == AGENT:
        return agent.agent_id
    if case.entity_type == TASK:
        return case_task_id(seed, agent.agent_id, case.name)
    if case.entity_type == CREDENTIAL:
        return case_credential_id(seed, agent.agent_id, case.name)
    if case.name == "unused_grant_whole_principal":
        return legacy_principal_id(agent.agent_id)
    return agent.machine_principal_id


def truth_rows(case: Case, seed: int, agent: AgentPlan) -> list[dict]:
    """Ground-truth rows of one case carried by `agent`."""
    entity = entity_id(case, seed, agent)
    rows = [
        {
            "rule_id": case.rule_id,
            "entity_type": case.entity_type,
            "entity_id": entity,
            "case": case.name,
            "variant": case.variant,
            "agent_id": agent.agent_id,
        }
    ]
    for rule_id, entity_type in case.also:
        rows.append(
            {
                "rule_id": rule_id,
                "entity_type": entity_type,
                "entity_id": entity,
                "case": case.name,
                "variant": case.variant,
                "agent_id": agent.agent_id,
            }
        )
    return rows


# helpers ------------------------------------------------------------------------------


def case_moment(sim: AgentSim, day: int) -> datetime:
    """Draw a time between 08:00 and 14:00 on `day`.

    The last events of the fleet come hours later, so the 15 minutes that follow each case
    task end before the detections' as-of time.
    """
    return sim.day_start(day) + timedelta(hours=sim.rng.uniform(8, 14))


def case_task(
    sim: AgentSim, moment: datetime, day: int, name: str, initiated_by: str, principal: Principal
):
    task_id = case_task_id(sim.plan.seed, sim.agent.agent_id, name)
    return sim.new_task(moment, day, initiated_by, principal, task_id=task_id)


def case_credential(
    sim: AgentSim, name: str, issued_at: datetime | None, expires_at: datetime | None
) -> Credential:
    return Credential(
        case_credential_id(sim.plan.seed, sim.agent.agent_id, name), issued_at, expires_at
    )


def delegated(sim: AgentSim, user: str, moment: datetime, *, on_behalf_of: str | None) -> Principal:
    credential = sim.new_credential(
        "delegated",
        user,
        "case",
        moment.isoformat(),
        issued_at=moment - timedelta(minutes=1),
        expires_at=moment + timedelta(minutes=59),
    )
    return Principal(user, "delegated_user", "oauth_delegated", credential, on_behalf_of)


def task_token_principal(sim: AgentSim, credential: Credential) -> Principal:
    return Principal(sim.machine.principal_id, "workload", "workload_identity", credential)


def set_expiry(events: list[dict], credential: Credential) -> None:
    expiry = credential.fields()["credential_expires_at"]
    for event in events:
        if (
            "credential_issued_at" in event
            and event.get("credential_id") == credential.credential_id
        ):
            event["credential_expires_at"] = expiry


# privilege_creep ----------------------------------------------------------------------

CREEP_SCOPES = (
    "metrics.dashboards.read",
    "crm.reports.read",
    "hr.directory.read",
    "finance.ledger.read",
)


def run_creep_net_gain(sim: AgentSim, day: int) -> None:
    moment = case_moment(sim, day)
    sim.grant(moment, sim.machine, list(CREEP_SCOPES[:2]))
    sim.grant(moment + timedelta(hours=3), sim.machine, list(CREEP_SCOPES[2:]))
    for scope in CREEP_SCOPES:
        sim.dormant.add((sim.machine.principal_id, scope))


def run_creep_high_risk(sim: AgentSim, day: int) -> None:
    sim.grant(case_moment(sim, day), sim.machine, ["repo.admin"], reason="temporary fix")
    sim.dormant.add((sim.machine.principal_id, "repo.admin"))


# blended_identity ---------------------------------------------------------------------


def run_delegated_read_machine_write(sim: AgentSim, day: int) -> None:
    user = sim.rng.choice(sim.agent.team)
    moment = case_moment(sim, day)
    user_principal = delegated(sim, user, moment, on_behalf_of=user)
    task = case_task(sim, moment, day, "blended_delegated_read_machine_write", user, user_principal)
    task.start()
    sim.call(task, TOOLS["helpdesk.get_ticket"])
    # The write is approved, so only the identity switch is wrong here.
    sim.call(
        task,
        TOOLS["crm.update_contact"],
        principal=sim.machine,
        approval_id=sim.approval_id(task),
        approver=sim.agent.team[0],
    )
    task.complete()


def run_machine_read_delegated_write(sim: AgentSim, day: int) -> None:
    user = sim.rng.choice(sim.agent.team)
    moment = case_moment(sim, day)
    user_principal = delegated(sim, user, moment, on_behalf_of=user)
    task = case_task(sim, moment, day, "blended_machine_read_delegated_write", user, user_principal)
    task.start()
    sim.call(task, TOOLS["crm.get_contact"], principal=sim.machine)
    sim.call(task, TOOLS["helpdesk.add_comment"])
    task.complete()


def run_delegated_without_user(sim: AgentSim, day: int) -> None:
    user = sim.rng.choice(sim.agent.team)
    moment = case_moment(sim, day)
    principal = delegated(sim, user, moment, on_behalf_of=None)
    task = case_task(
        sim, moment, day, "blended_delegated_without_user", "schedule:ticket-triage", principal
    )
    task.start()
    sim.call(task, TOOLS["helpdesk.get_ticket"])
    sim.call(task, TOOLS["helpdesk.add_comment"])
    task.complete()


def run_confused_deputy(sim: AgentSim, day: int) -> None:
    initiator, victim = sim.rng.sample(list(sim.agent.team), 2)
    moment = case_moment(sim, day)
    principal = delegated(sim, victim, moment, on_behalf_of=victim)
    task = case_task(sim, moment, day, "blended_confused_deputy", initiator, principal)
    task.start()
    sim.call(task, TOOLS["helpdesk.get_ticket"])
    sim.call(task, TOOLS["crm.get_contact"])
    task.complete()


# unused_grant -------------------------------------------------------------------------


def setup_unused_scope(sim: AgentSim) -> None:
    moment = sim.plan.history_start - timedelta(days=sim.rng.uniform(1, 20))
    sim.grant(moment, sim.machine, ["datasets.export"], reason="quarterly export")
    sim.dormant.add((sim.machine.principal_id, "datasets.export"))


def setup_unused_principal(sim: AgentSim) -> None:
    legacy = Principal(legacy_principal_id(sim.agent.agent_id), "service_account", "api_key")
    moment = sim.plan.history_start - timedelta(days=sim.rng.uniform(1, 20))
    sim.grant(moment, legacy, ["docs.read", "wiki.pages.read"], reason="migration account")


def run_nothing(sim: AgentSim, day: int) -> None:
    """Do nothing: the whole case is in its setup."""


# credential_outlives_task -------------------------------------------------------------


def dev_case_task(sim: AgentSim, day: int, name: str, credential: Credential):
    user = sim.rng.choice(sim.agent.team)
    task = case_task(
        sim, case_moment(sim, day), day, name, user, task_token_principal(sim, credential)
    )
    credential.issued_at = task.clock
    task.start()
    return task


def run_used_after_task_end(sim: AgentSim, day: int) -> None:
    name = "credential_used_after_task_end"
    credential = case_credential(sim, name, None, None)
    task = dev_case_task(sim, day, name, credential)
    task.event("credential_issued", scopes=["repo.contents.read"], **credential.fields())
    sim.call(task, TOOLS["repo.read_file"])
    task.complete()
    credential.expires_at = task.clock + timedelta(minutes=10)
    task.wait(300)
    sim.call(task, TOOLS["repo.read_file"])
    set_expiry(task.events, credential)


def run_valid_after_task(sim: AgentSim, day: int) -> None:
    name = "credential_valid_after_task"
    credential = case_credential(sim, name, None, None)
    task = dev_case_task(sim, day, name, credential)
    task.event("credential_issued", scopes=["repo.contents.read"], **credential.fields())
    sim.call(task, TOOLS["repo.read_file"])
    task.complete()
    credential.expires_at = task.clock + timedelta(hours=8)
    set_expiry(task.events, credential)


def run_used_after_expiry(sim: AgentSim, day: int) -> None:
    name = "credential_used_after_expiry"
    credential = case_credential(sim, name, None, None)
    task = dev_case_task(sim, day, name, credential)
    credential.expires_at = task.clock + timedelta(minutes=10)
    task.event("credential_issued", scopes=["repo.contents.read"], **credential.fields())
    sim.call(task, TOOLS["repo.read_file"])
    task.wait(900)
    sim.call(task, TOOLS["repo.read_file"])
    task.complete()
    task.event("credential_revoked", **credential.fields(), reason="task ended")


def run_used_after_revocation(sim: AgentSim, day: int) -> None:
    name = "credential_used_after_revocation"
    credential = case_credential(sim, name, None, None)
    task = dev_case_task(sim, day, name, credential)
    credential.expires_at = task.clock + timedelta(minutes=30)
    task.event("credential_issued", scopes=["repo.contents.read"], **credential.fields())
    sim.call(task, TOOLS["repo.read_file"])
    task.event("credential_revoked", **credential.fields(), reason="operator revoked the token")
    task.wait(60)
    sim.call(task, TOOLS["repo.read_file"])
    task.complete()


def run_reused_across_tasks(sim: AgentSim, day: int) -> None:
    name = "credential_reused_across_tasks"
    credential = case_credential(sim, name, None, None)
    first = dev_case_task(sim, day, name, credential)
    credential.expires_at = first.clock + timedelta(minutes=40)
    first.event("credential_issued", scopes=["repo.contents.read"], **credential.fields())
    sim.call(first, TOOLS["repo.read_file"])
    # A second task, started while the first runs, borrows the first task's token.
    second = sim.new_task(
        first.clock + timedelta(minutes=1),
        day,
        first.initiated_by,
        task_token_principal(sim, credential),
        task_id=case_task_id(sim.plan.seed, sim.agent.agent_id, name, 1),
    )
    second.start()
    sim.call(second, TOOLS["repo.read_file"])
    second.complete()
    first.clock = max(first.clock, second.clock)
    sim.call(first, TOOLS["repo.read_file"])
    first.complete()
    first.event("credential_revoked", **credential.fields(), reason="task ended")


def run_standing_agent_credential(sim: AgentSim, day: int) -> None:
    name = "credential_standing_agent"
    # A static key pasted into the agent's configuration five days ago: no expiry, but too
    # recent to count as overdue for rotation.
    credential = case_credential(sim, name, sim.day_start(day) - timedelta(days=5), None)
    principal = Principal(sim.machine.principal_id, "workload", "api_key", credential)
    task = sim.new_task(case_moment(sim, day), day, sim.rng.choice(sim.agent.team), principal)
    task.start()
    sim.call(task, TOOLS["repo.read_file"])
    sim.call(task, TOOLS["ci.run_pipeline"])
    task.complete()


# sensitive_action_without_approval -----------------------------------------------------


def run_write_without_approval(sim: AgentSim, day: int) -> None:
    user = sim.rng.choice(sim.agent.team)
    moment = case_moment(sim, day)
    task = case_task(
        sim,
        moment,
        day,
        "sensitive_write_without_approval",
        user,
        delegated(sim, user, moment, on_behalf_of=user),
    )
    task.start()
    sim.call(task, TOOLS["helpdesk.get_ticket"])
    sim.call(task, TOOLS["crm.update_contact"])
    task.complete()


def run_action_outside_task(sim: AgentSim, day: int) -> None:
    moment = case_moment(sim, day)
    tool = TOOLS["crm.update_contact"]
    principal = sim.machine.fields()
    credential = sim.machine.credential.fields()
    sim.emitter.emit(
        moment,
        "credential_used",
        **principal,
        **credential,
        tool=tool.name,
        scopes=[tool.scope],
        outcome="success",
        initiated_by="service:crm-import",
    )
    sim.emitter.emit(
        moment + timedelta(seconds=2),
        "tool_invoked",
        **principal,
        tool=tool.name,
        action=tool.action,
        system=tool.system,
        resource=f"contact/{sim.rng.randint(1000, 99999)}",
        data_classification="restricted",
        scopes=[tool.scope],
        credential_id=credential["credential_id"],
        outcome="success",
        initiated_by="service:crm-import",
    )


# tool_outside_boundary ----------------------------------------------------------------

SHELL_TOOL = Tool("shell.exec", "host", "execute", "internal", "host.exec", "command")


def run_unapproved_tool(sim: AgentSim, day: int) -> None:
    task = sim.new_task(case_moment(sim, day), day, sim.rng.choice(sim.agent.team), sim.machine)
    task.start()
    sim.call(task, TOOLS["search.web_query"])
    sim.call(task, SHELL_TOOL)
    task.complete()


def run_unapproved_system(sim: AgentSim, day: int) -> None:
    credential = sim.new_credential("case-system", issued_at=None, expires_at=None)
    task = dev_case_task(sim, day, "tool_outside_boundary_system", credential)
    credential.expires_at = task.clock + timedelta(minutes=20)
    task.event("credential_issued", scopes=["docs.read"], **credential.fields())
    sim.call(task, TOOLS["docs.search"], system="hr-records", classification="confidential")
    task.complete()
    task.event("credential_revoked", **credential.fields(), reason="task ended")


# credential_rotation_overdue ----------------------------------------------------------


def setup_overdue_key(sim: AgentSim) -> None:
    issued = sim.plan.end - timedelta(days=200)
    credential = case_credential(sim, "credential_rotation_overdue", issued, None)
    sim.machine.credential = credential
    sim.emitter.emit(
        issued,
        "credential_issued",
        **sim.machine.fields(),
        **credential.fields(),
        scopes=["search.query", "docs.read"],
        initiated_by="user:iam-admin@example.com",
    )


# secret_in_event ----------------------------------------------------------------------


def run_secret_in_event(sim: AgentSim, day: int) -> None:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    token = "".join(sim.rng.choice(alphabet) for _ in range(40))
    task = sim.new_task(case_moment(sim, day), day, sim.rng.choice(sim.agent.team), sim.machine)
    task.start()
    # The agent echoed the outgoing request, headers included, into the event.
    sim.call(
        task,
        TOOLS["search.web_query"],
        extra={"request_headers": {"Authorization": f"Bearer {token}"}},
    )
    task.complete()


# policy_denial_burst ------------------------------------------------------------------


def run_denial_burst(sim: AgentSim, day: int) -> None:
    user = sim.rng.choice(sim.agent.team)
    moment = case_moment(sim, day)
    task = sim.new_task(moment, day, user, delegated(sim, user, moment, on_behalf_of=user))
    task.start()
    for _ in range(6):
        task.wait(sim.rng.uniform(5, 20))
        sim.call(task, TOOLS["crm.get_account"], denied=True)
    task.fail("access denied")


CASE_LIST: tuple[Case, ...] = (
    Case(
        "privilege_creep_net_gain",
        "privilege_creep",
        "a",
        RESEARCH_ASSISTANT,
        PRINCIPAL,
        "four low-risk scopes granted in the last 30 days, none removed",
        run_creep_net_gain,
    ),
    Case(
        "privilege_creep_high_risk",
        "privilege_creep",
        "b",
        DEV_ASSISTANT,
        PRINCIPAL,
        "repo.admin granted, a scope no other dev_assistant holds",
        run_creep_high_risk,
    ),
    Case(
        "blended_delegated_read_machine_write",
        "blended_identity",
        "a",
        SUPPORT_BOT,
        TASK,
        "ticket read as the user, then an approved CRM write as the service account",
        run_delegated_read_machine_write,
    ),
    Case(
        "blended_machine_read_delegated_write",
        "blended_identity",
        "a",
        SUPPORT_BOT,
        TASK,
        "CRM contact read as the service account, then a ticket comment as the user",
        run_machine_read_delegated_write,
    ),
    Case(
        "blended_delegated_without_user",
        "blended_identity",
        "b",
        SUPPORT_BOT,
        TASK,
        "scheduled task acting under a delegated token with no on_behalf_of",
        run_delegated_without_user,
    ),
    Case(
        "blended_confused_deputy",
        "blended_identity",
        "c",
        SUPPORT_BOT,
        TASK,
        "task asked by one user runs under another user's delegated token",
        run_confused_deputy,
    ),
    Case(
        "unused_grant_scope",
        "unused_grant",
        "scopes",
        RESEARCH_ASSISTANT,
        PRINCIPAL,
        "datasets.export granted over 120 days ago and never used",
        run_nothing,
        setup_unused_scope,
    ),
    Case(
        "unused_grant_whole_principal",
        "unused_grant",
        "whole_principal",
        RESEARCH_ASSISTANT,
        PRINCIPAL,
        "a legacy service account whose grants were never used",
        run_nothing,
        setup_unused_principal,
    ),
    Case(
        "credential_used_after_task_end",
        "credential_outlives_task",
        "a",
        DEV_ASSISTANT,
        CREDENTIAL,
        "task token used 5 minutes after its task completed",
        run_used_after_task_end,
    ),
    Case(
        "credential_valid_after_task",
        "credential_outlives_task",
        "b",
        DEV_ASSISTANT,
        CREDENTIAL,
        "task token left valid for 8 hours after its task, not revoked",
        run_valid_after_task,
    ),
    Case(
        "credential_used_after_expiry",
        "credential_outlives_task",
        "c",
        DEV_ASSISTANT,
        CREDENTIAL,
        "task token used 15 minutes after it expired",
        run_used_after_expiry,
    ),
    Case(
        "credential_used_after_revocation",
        "credential_outlives_task",
        "c",
        DEV_ASSISTANT,
        CREDENTIAL,
        "task token used after it was revoked",
        run_used_after_revocation,
    ),
    Case(
        "credential_reused_across_tasks",
        "credential_outlives_task",
        "d",
        DEV_ASSISTANT,
        CREDENTIAL,
        "token issued for one task also used by a second task",
        run_reused_across_tasks,
    ),
    Case(
        "credential_standing_agent",
        "credential_outlives_task",
        "e",
        DEV_ASSISTANT,
        CREDENTIAL,
        "workload uses a static key with no expiry",
        run_standing_agent_credential,
    ),
    Case(
        "sensitive_write_without_approval",
        "sensitive_action_without_approval",
        "task",
        SUPPORT_BOT,
        TASK,
        "confidential CRM write under the user's token, no approval",
        run_write_without_approval,
    ),
    Case(
        "sensitive_action_outside_task",
        "sensitive_action_without_approval",
        "no_task",
        SUPPORT_BOT,
        AGENT,
        "restricted CRM write outside any task, no approval",
        run_action_outside_task,
    ),
    Case(
        "tool_outside_boundary_tool",
        "tool_outside_boundary",
        "tool",
        RESEARCH_ASSISTANT,
        AGENT,
        "research assistant runs shell.exec on a host",
        run_unapproved_tool,
    ),
    Case(
        "tool_outside_boundary_system",
        "tool_outside_boundary",
        "system",
        DEV_ASSISTANT,
        AGENT,
        "dev assistant reads documents on the hr-records system",
        run_unapproved_system,
    ),
    Case(
        "credential_rotation_overdue",
        "credential_rotation_overdue",
        "standing",
        RESEARCH_ASSISTANT,
        CREDENTIAL,
        "API key with no expiry, issued 200 days ago, in use",
        run_nothing,
        setup_overdue_key,
    ),
    Case(
        "secret_in_event",
        "secret_in_event",
        "bearer_token",
        RESEARCH_ASSISTANT,
        AGENT,
        "a bearer token echoed into a tool_invoked event",
        run_secret_in_event,
    ),
    Case(
        "policy_denial_burst",
        "policy_denial_burst",
        "burst",
        SUPPORT_BOT,
        AGENT,
        "six denied CRM reads within two minutes",
        run_denial_burst,
    ),
)
CASES: dict[str, Case] = {case.name: case for case in CASE_LIST}
assert {case.kind for case in CASE_LIST} <= set(AGENT_KINDS)


def cases_for_kind(kind: str) -> list[Case]:
    return [case for case in CASE_LIST if case.kind == kind]
