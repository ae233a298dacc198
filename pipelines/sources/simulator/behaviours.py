"""Normal work of each agent kind, the part of the fleet that must raise no alert.

- support_bot works on tickets under the delegated OAuth token of the support agent who
  requested the task. A scheduled CRM sync writes contacts under the bot's service
  account, and each write is approved first. The two authorities never mix in one task.
- research_assistant works under its service account with an API key that expires after
  90 days and is rotated every 80 days.
- dev_assistant gets a workload token at task start that expires at most 10 minutes after
  the task ends, and most tokens are revoked when the task ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pipelines.sources.simulator.agent import AgentSim
from pipelines.sources.simulator.catalogue import (
    DEV_ASSISTANT,
    RESEARCH_ASSISTANT,
    SUPPORT_BOT,
    TOOLS,
    tool_for_scope,
)
from pipelines.sources.simulator.emitter import Principal, TaskRun

KEY_LIFETIME = timedelta(days=90)
KEY_ROTATION = timedelta(days=80)
DELEGATED_TOKEN_LIFETIME = timedelta(hours=1)
FAILURE_RATE = 0.03

DELEGATED_SCOPES = ["tickets.read", "tickets.comment", "crm.contacts.read", "kb.articles.read"]


# prologue -----------------------------------------------------------------------------


def grant_baseline(sim: AgentSim) -> None:
    """Grant the machine principal its core scopes and a few optional ones before the period."""
    moment = sim.plan.history_start - timedelta(days=sim.rng.uniform(1, 30))
    optional = list(sim.profile.optional_scopes)
    held_optional = sim.rng.sample(optional, sim.rng.randint(1, 2))
    core = [scope for scope in sim.profile.core_scopes if scope != sim.late_core_scope]
    scopes = core + [scope for scope in optional if scope in held_optional]
    sim.grant(moment, sim.machine, scopes, reason="agent onboarded")


def issue_research_key(sim: AgentSim) -> None:
    """Issue the research API key before the period and plan its rotations every 80 days."""
    issued = sim.plan.start - timedelta(days=sim.rng.uniform(1, 79))
    credential = sim.new_credential("api-key", issued_at=issued, expires_at=issued + KEY_LIFETIME)
    if sim.noise > 0 and sim.rng.random() < min(1.0, 0.3 * sim.noise):
        # Some keys are cloud access keys: their id (AKIA...) is an identifier the contract
        # allows in credential_id, not a secret, so secret_in_event must not alert.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        credential.credential_id = "AKIA" + "".join(sim.rng.choice(alphabet) for _ in range(16))
    sim.machine.credential = credential
    sim.emitter.emit(
        issued,
        "credential_issued",
        **sim.machine.fields(),
        **credential.fields(),
        scopes=list(sim.profile.core_scopes),
        initiated_by="user:iam-admin@example.com",
    )
    rotation = issued + KEY_ROTATION
    while rotation < sim.plan.end:
        sim.rotation_days.append(int((rotation - sim.plan.start) / timedelta(days=1)))
        rotation += KEY_ROTATION


def prologue(sim: AgentSim) -> None:
    grant_baseline(sim)
    if sim.agent.kind == RESEARCH_ASSISTANT and sim.machine.credential is None:
        issue_research_key(sim)


# support_bot --------------------------------------------------------------------------


def delegated_principal(sim: AgentSim, user: str, moment: datetime) -> Principal:
    """Return the principal of `user` with a delegated OAuth token valid for one hour.

    The token is minted up to five minutes before `moment`.
    """
    issued = moment - timedelta(seconds=sim.rng.uniform(5, 300))
    credential = sim.new_credential(
        "delegated",
        user,
        moment.isoformat(),
        issued_at=issued,
        expires_at=issued + DELEGATED_TOKEN_LIFETIME,
    )
    return Principal(user, "delegated_user", "oauth_delegated", credential, on_behalf_of=user)


def support_answer_ticket(sim: AgentSim, day: int, moment: datetime) -> None:
    user = sim.rng.choice(sim.agent.team)
    principal = delegated_principal(sim, user, moment)
    task = sim.new_task(moment, day, user, principal)
    task.start(scopes=DELEGATED_SCOPES)
    sim.call(task, TOOLS["helpdesk.get_ticket"])
    if sim.maybe_denied():
        sim.call(task, TOOLS["crm.get_contact"], denied=True)
    elif sim.rng.random() < 0.6:
        task.wait(sim.rng.uniform(5, 60))
        sim.call(task, TOOLS["crm.get_contact"])
    if sim.rng.random() < 0.4:
        sim.call(task, TOOLS["kb.search_articles"])
    if sim.noise > 0 and sim.rng.random() < 0.08 * sim.noise:
        # An approved sensitive write under the user's own token: must not alert.
        task.wait(sim.rng.uniform(30, 300))
        lead = sim.agent.team[0]
        sim.call(
            task, TOOLS["crm.update_contact"], approval_id=sim.approval_id(task), approver=lead
        )
    if sim.rng.random() < FAILURE_RATE:
        task.fail("helpdesk timed out")
        return
    if sim.rng.random() < 0.7:
        sim.call(task, TOOLS["helpdesk.add_comment"])
    task.complete()


def support_denied_retries(sim: AgentSim, day: int, moment: datetime) -> None:
    """Simulate a user who retries a CRM read three times in a few minutes, denied each time.

    Three denials stay below the burst threshold (five in ten minutes by default).
    """
    user = sim.rng.choice(sim.agent.team)
    task = sim.new_task(moment, day, user, delegated_principal(sim, user, moment))
    task.start(scopes=DELEGATED_SCOPES)
    sim.call(task, TOOLS["helpdesk.get_ticket"])
    for _ in range(3):
        task.wait(sim.rng.uniform(20, 90))
        sim.call(task, TOOLS["crm.get_account"], denied=True)
    task.fail("access denied")


def support_sync(sim: AgentSim, day: int, moment: datetime, due: list[str]) -> None:
    """Simulate the scheduled CRM sync under the service account, approving each write first."""
    task = sim.new_task(moment, day, "schedule:crm-sync", sim.machine)
    task.start()
    reads = ["crm.contacts.read"] + [s for s in sim.optional_usable() if sim.rng.random() < 0.3]
    reads += [scope for scope in due if scope != "crm.contacts.write"]
    for scope in dict.fromkeys(reads):
        sim.call(task, tool_for_scope(SUPPORT_BOT, scope))
    if "crm.contacts.write" in due or sim.rng.random() < 0.6:
        task.wait(sim.rng.uniform(10, 120))
        sim.call(
            task,
            TOOLS["crm.update_contact"],
            approval_id=sim.approval_id(task),
            approver="user:crm-owner@example.com",
        )
    task.complete()


def support_day(sim: AgentSim, day: int, due: list[str]) -> None:
    start = sim.day_start(day)
    issued = start + timedelta(minutes=5, seconds=sim.rng.uniform(0, 60))
    sim.machine.credential = sim.new_credential(
        "client-token", day, issued_at=issued, expires_at=issued + timedelta(hours=24)
    )
    sim.emitter.emit(
        issued,
        "credential_issued",
        **sim.machine.fields(),
        **sim.machine.credential.fields(),
        scopes=sim.usable_scopes(sim.machine.principal_id),
        initiated_by="schedule:token-refresh",
    )
    times = sim.task_times(day, sim.rng.randint(5, 10))
    retry_cluster = sim.noise > 0 and sim.rng.random() < 0.05 * sim.noise
    if retry_cluster:
        # The day's three denials all come from one retrying user, so no isolated denial
        # is added on top.
        sim.denials_today = 2
    for index, moment in enumerate(times):
        if index == 0:
            support_sync(sim, day, moment, due)
        elif retry_cluster and index == 1:
            support_denied_retries(sim, day, moment)
        elif sim.rng.random() < 0.12:
            support_sync(sim, day, moment, [])
        else:
            support_answer_ticket(sim, day, moment)


# research_assistant -------------------------------------------------------------------


def rotate_research_key(sim: AgentSim, day: int) -> None:
    credential = sim.machine.credential
    moment = sim.day_start(day) + timedelta(hours=2, seconds=sim.rng.uniform(0, 3600))
    credential.expires_at = moment + KEY_LIFETIME
    sim.emitter.emit(
        moment,
        "credential_rotated",
        **sim.machine.fields(),
        **credential.fields(),
        initiated_by="schedule:key-rotation",
        reason="scheduled rotation",
    )


def research_task(sim: AgentSim, day: int, moment: datetime, due: list[str]) -> TaskRun:
    initiator = (
        sim.rng.choice(sim.agent.team) if sim.rng.random() < 0.8 else "schedule:daily-digest"
    )
    task = sim.new_task(moment, day, initiator, sim.machine)
    task.start()
    sim.call(task, TOOLS["search.web_query"])
    picks = [
        s
        for s in sim.usable_scopes(sim.machine.principal_id)
        if s not in ("search.query", "notes.write") and sim.rng.random() < 0.45
    ]
    for scope in dict.fromkeys(picks + [s for s in due if s != "notes.write"]):
        task.wait(sim.rng.uniform(5, 120))
        # A due scope must really be exercised, so it is never denied.
        if scope not in due and sim.maybe_denied():
            sim.call(task, tool_for_scope(RESEARCH_ASSISTANT, scope), denied=True)
            continue
        sim.call(task, tool_for_scope(RESEARCH_ASSISTANT, scope))
    if not due and sim.rng.random() < FAILURE_RATE:
        task.fail("model context limit reached")
        return task
    if "notes.write" in due or sim.rng.random() < 0.6:
        sim.call(task, TOOLS["notes.save_summary"])
    task.complete()
    return task


def research_day(sim: AgentSim, day: int, due: list[str]) -> None:
    if day in sim.rotation_days:
        rotate_research_key(sim, day)
    for index, moment in enumerate(sim.task_times(day, sim.rng.randint(4, 8))):
        research_task(sim, day, moment, due if index == 0 else [])


# dev_assistant ------------------------------------------------------------------------


def dev_task(
    sim: AgentSim,
    day: int,
    moment: datetime,
    due: list[str],
    *,
    long: bool = False,
    user: str | None = None,
) -> TaskRun:
    """Simulate a coding task with its own workload token, issued at start, ending with it."""
    user = user or sim.rng.choice(sim.agent.team)
    credential = sim.new_credential("task", sim.task_count + 1, issued_at=moment, expires_at=None)
    principal = Principal(sim.machine.principal_id, "workload", "workload_identity", credential)
    task = sim.new_task(moment, day, user, principal)
    usable = sim.usable_scopes(principal.principal_id)
    picks = ["repo.contents.read"] + [
        scope for scope in usable if scope != "repo.contents.read" and sim.rng.random() < 0.4
    ]
    picks = list(dict.fromkeys(picks + due))
    task.start()
    task.event("credential_issued", scopes=picks, **credential.fields())
    pace = (1200, 3600) if long else (10, 240)
    for scope in picks:
        task.wait(sim.rng.uniform(*pace))
        if scope not in due and sim.maybe_denied():
            sim.call(task, tool_for_scope(DEV_ASSISTANT, scope), denied=True)
            continue
        sim.call(task, tool_for_scope(DEV_ASSISTANT, scope))
    if long:
        # Long tasks run at least two hours: builds, test suites, reviews.
        elapsed = (task.clock - moment).total_seconds()
        task.wait(max(0.0, 7200 - elapsed) + sim.rng.uniform(0, 1800))
    if sim.rng.random() < FAILURE_RATE:
        task.fail("tests failed")
    else:
        task.complete()
    # The token lives until a few minutes after the task ends. Now that the end is known,
    # write the expiry into the events that carry the token's times.
    credential.expires_at = task.clock + timedelta(minutes=sim.rng.uniform(1, 10))
    expiry = credential.fields()["credential_expires_at"]
    for event in task.events:
        if (
            "credential_issued_at" in event
            and event.get("credential_id") == credential.credential_id
        ):
            event["credential_expires_at"] = expiry
    if sim.rng.random() < 0.8:
        task.event("credential_revoked", **credential.fields(), reason="task ended")
    return task


def dev_day(sim: AgentSim, day: int, due: list[str]) -> None:
    times = sim.task_times(day, sim.rng.randint(3, 7), last_hour=17.0)
    for index, moment in enumerate(times):
        dev_task(sim, day, moment, due if index == 0 else [])
    if sim.noise > 0 and sim.rng.random() < 0.1 * sim.noise:
        # A long task (hours) whose token lives exactly as long as the task: must not alert.
        moment = sim.day_start(day) + timedelta(hours=7, seconds=sim.rng.uniform(0, 3600))
        dev_task(sim, day, moment, [], long=True)


DAY_BEHAVIOURS = {
    SUPPORT_BOT: support_day,
    RESEARCH_ASSISTANT: research_day,
    DEV_ASSISTANT: dev_day,
}
