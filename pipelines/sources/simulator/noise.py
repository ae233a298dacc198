"""Legitimate activity that looks suspicious at first sight and must raise no alert.

Planned per agent before the period and scaled by the noise level (0 turns it off):

- grant changes: a principal gains one or two low-risk scopes that its peers also hold,
  or swaps scopes (up to three added, one removed). Changes of one principal are at least
  35 days apart, so no 30-day window contains three gains without a removal.
- a rarely used scope: exercised once, 80 days before the end of the period (or on the
  first day when the period is shorter).
- a gained scope whose first use comes 20 to 45 days after the grant.
- a dev_assistant that starts without repo.contents.write and gains it later.

Isolated policy denials, denied retries, approved sensitive writes, long tasks with
properly scoped tokens and API keys named like cloud access key ids happen inside the
behaviours (see `AgentSim.maybe_denied` and `behaviours`).
"""

from __future__ import annotations

from datetime import timedelta

from pipelines.sources.simulator.agent import AgentSim
from pipelines.sources.simulator.cases import CASES
from pipelines.sources.simulator.catalogue import DEV_ASSISTANT

# Agents carrying these rules' cases keep their grants still, so that the case alone
# decides whether the principal alerts.
GRANT_RULES = ("privilege_creep", "unused_grant")
MIN_DAYS_BETWEEN_CHANGES = 35


def plan_onboarding(sim: AgentSim) -> None:
    """Decide, before the baseline grants, whether a dev_assistant starts without push rights.

    Such a principal gains repo.contents.write during the period: a high-risk scope, but one
    that all its peers hold, so privilege_creep must not alert.
    """
    if sim.noise <= 0 or sim.agent.kind != DEV_ASSISTANT or _has_grant_case(sim):
        return
    peers = [agent for agent in sim.plan.agents if agent.kind == DEV_ASSISTANT]
    if len(peers) < 3:
        return  # with fewer peers, every peer might lack the scope as well
    if sim.rng.random() < min(1.0, 0.2 * sim.noise):
        sim.late_core_scope = "repo.contents.write"


def _has_grant_case(sim: AgentSim) -> bool:
    return any(CASES[name].rule_id in GRANT_RULES for name in sim.agent.cases)


def plan_noise(sim: AgentSim) -> None:
    """Schedule the rare scope use and the grant changes of one agent."""
    if sim.noise <= 0:
        return
    principal_id = sim.machine.principal_id
    optional_held = sim.optional_usable()
    if optional_held and sim.rng.random() < min(1.0, 0.4 * sim.noise):
        scope = sim.rng.choice(optional_held)
        sim.rare[(principal_id, scope)] = max(0, sim.plan.days - 80)
    if _has_grant_case(sim):
        return
    day = sim.rng.randint(0, 40)
    while day < sim.plan.days:
        if sim.rng.random() < min(1.0, 0.5 * sim.noise):
            change = "gain" if sim.rng.random() < 0.6 else "swap"
            sim.grant_changes.append((day, change))
        day += sim.rng.randint(MIN_DAYS_BETWEEN_CHANGES, 60)
    if sim.late_core_scope:
        # The missing core scope arrives in the first change slot, or on a day of its own.
        if sim.grant_changes:
            sim.grant_changes[0] = (sim.grant_changes[0][0], "catch_up")
        else:
            sim.grant_changes.append((sim.rng.randint(0, sim.plan.days - 1), "catch_up"))


def apply_grant_changes(sim: AgentSim, day: int) -> None:
    """Emit the grant changes scheduled for `day`, early in the morning before any task."""
    for change_day, change in sim.grant_changes:
        if change_day != day:
            continue
        held = sim.held.get(sim.machine.principal_id, {})
        pool = [scope for scope in sim.profile.optional_scopes if scope not in held]
        moment = sim.day_start(day) + timedelta(hours=6, seconds=sim.rng.uniform(0, 1800))
        if change == "catch_up":
            sim.grant(moment, sim.machine, [sim.late_core_scope], reason="aligned with peer agents")
            continue
        if change == "gain" and pool:
            adds = sim.rng.sample(pool, min(len(pool), sim.rng.randint(1, 2)))
            sim.grant(moment, sim.machine, adds, reason="aligned with peer agents")
            for scope in adds:
                # Half the new scopes wait 20 to 45 days for a first use: granted recently
                # and not used yet must not count as unused.
                if sim.rng.random() < 0.5:
                    first_use = day + sim.rng.randint(20, 45)
                    sim.deferred[(sim.machine.principal_id, scope)] = first_use
            continue
        removable = sim.optional_usable()
        if change == "swap" and pool and removable:
            removes = [sim.rng.choice(removable)]
            sim.revoke_grant(moment, sim.machine, removes)
            adds = sim.rng.sample(pool, min(len(pool), 3))
            sim.grant(moment + timedelta(minutes=2), sim.machine, adds, reason="scope swap")
