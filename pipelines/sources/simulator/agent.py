"""State of one simulated agent: its principals, credentials, grants and scope use.

`AgentSim` contains the state that the behaviours, the noise and the injected cases share:
the random stream of the agent, its event emitter, the scopes granted to each principal,
when each scope was last exercised, and the credential the machine principal presents.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from pipelines.sources.simulator.catalogue import (
    DEV_ASSISTANT,
    PROFILES,
    RESEARCH_ASSISTANT,
    Tool,
)
from pipelines.sources.simulator.emitter import (
    AgentEmitter,
    Credential,
    Principal,
    TaskRun,
    stable_id,
)
from pipelines.sources.simulator.fleet import AgentPlan, FleetPlan

IAM_ADMIN = "user:iam-admin@example.com"
# Scopes whose last use is older than this get exercised on the last day, so that no clean
# principal trips the unused-grant rule (90 days by default) by chance.
COVERAGE_WINDOW = timedelta(days=85)


class AgentSim:
    """One agent being simulated over the period."""

    def __init__(self, plan: FleetPlan, agent: AgentPlan, noise: float):
        self.plan = plan
        self.agent = agent
        self.noise = noise
        self.rng = random.Random(f"agent|{plan.seed}|{agent.agent_id}")
        self.events: list[dict] = []
        self.emitter = AgentEmitter(plan.seed, agent.agent_id, agent.kind, self.events)
        self.profile = PROFILES[agent.kind]
        self.task_count = 0
        self.held: dict[str, dict[str, datetime]] = {}
        self.last_use: dict[tuple[str, str], datetime] = {}
        self.dormant: set[tuple[str, str]] = set()  # never exercised, by an injected case
        self.rare: dict[tuple[str, str], int] = {}  # exercised once, on the given day
        self.deferred: dict[tuple[str, str], int] = {}  # first exercised on the given day
        self.late_core_scope: str | None = None  # a core scope granted only during the period
        self.grant_changes: list[tuple[int, str]] = []  # (day, "gain", "swap" or "catch_up")
        self.denials_today = 0
        self.machine = Principal(
            agent.machine_principal_id,
            "workload" if agent.kind == DEV_ASSISTANT else "service_account",
            {
                DEV_ASSISTANT: "workload_identity",
                RESEARCH_ASSISTANT: "api_key",
            }.get(agent.kind, "oauth_client_credentials"),
        )
        self.rotation_days: list[int] = []

    # ids ------------------------------------------------------------------------------

    def next_task_id(self) -> str:
        self.task_count += 1
        return stable_id("task", self.plan.seed, self.agent.agent_id, self.task_count)

    def run_id(self, day: int) -> str:
        return stable_id("run", self.plan.seed, self.agent.agent_id, day)

    def approval_id(self, task: TaskRun) -> str:
        return stable_id("appr", self.plan.seed, task.task_id, task.step)

    def day_start(self, day: int) -> datetime:
        return self.plan.start + timedelta(days=day)

    # grants ---------------------------------------------------------------------------

    def grant(self, moment: datetime, principal: Principal, scopes: list[str], **fields) -> None:
        """Emit grant_added for `scopes` and record them as held from `moment`."""
        self.emitter.emit(
            moment,
            "grant_added",
            principal_id=principal.principal_id,
            principal_type=principal.principal_type,
            scopes=list(scopes),
            initiated_by=fields.pop("initiated_by", IAM_ADMIN),
            reason=fields.pop("reason", "access request approved"),
            **fields,
        )
        held = self.held.setdefault(principal.principal_id, {})
        for scope in scopes:
            held[scope] = moment

    def revoke_grant(self, moment: datetime, principal: Principal, scopes: list[str]) -> None:
        self.emitter.emit(
            moment,
            "grant_removed",
            principal_id=principal.principal_id,
            principal_type=principal.principal_type,
            scopes=list(scopes),
            initiated_by=IAM_ADMIN,
            reason="access review",
        )
        held = self.held.get(principal.principal_id, {})
        for scope in scopes:
            held.pop(scope, None)

    def usable_scopes(self, principal_id: str) -> list[str]:
        """Held scopes that normal work exercises: not dormant, rare or waiting for a first use."""
        set_aside = self.dormant | self.rare.keys() | self.deferred.keys()
        return [
            scope
            for scope in self.held.get(principal_id, {})
            if (principal_id, scope) not in set_aside
        ]

    def optional_usable(self) -> list[str]:
        core = set(self.profile.core_scopes)
        usable = self.usable_scopes(self.machine.principal_id)
        return [scope for scope in usable if scope not in core]

    def due_scopes(self, day: int) -> list[str]:
        """Scopes of the machine principal that must be exercised on `day`.

        These are the rare scopes scheduled for this day and the deferred scopes whose first
        use falls on this day (normal work uses them from then on). On the last day, every
        held scope whose last use is older than the coverage window is added.
        """
        principal_id = self.machine.principal_id
        due = [
            scope for (pid, scope), when in self.rare.items() if pid == principal_id and when == day
        ]
        for key, when in list(self.deferred.items()):
            if when == day:
                due.append(key[1])
                del self.deferred[key]
        if day == self.plan.days - 1:
            cutoff = self.plan.end - COVERAGE_WINDOW
            for scope in self.usable_scopes(principal_id):
                last = self.last_use.get((principal_id, scope))
                if last is None or last < cutoff:
                    due.append(scope)
        return list(dict.fromkeys(due))

    # tasks ----------------------------------------------------------------------------

    def new_task(
        self,
        moment: datetime,
        day: int,
        initiated_by: str,
        principal: Principal,
        task_id: str | None = None,
    ) -> TaskRun:
        return TaskRun(
            self.emitter,
            self.rng,
            task_id or self.next_task_id(),
            self.run_id(day),
            initiated_by,
            moment,
            principal,
        )

    def call(self, task: TaskRun, tool: Tool, **options) -> dict:
        """Run one tool call in `task` and record the scope use when it is not denied."""
        event = task.call(tool, **options)
        if not options.get("denied"):
            acting = options.get("principal") or task.principal
            for scope in event.get("scopes", []):
                self.last_use[(acting.principal_id, scope)] = task.clock
        return event

    def maybe_denied(self) -> bool:
        """Draw an isolated policy denial: at most two a day, rare at noise 1.0."""
        if self.denials_today >= 2 or self.noise <= 0:
            return False
        if self.rng.random() < 0.04 * self.noise:
            self.denials_today += 1
            return True
        return False

    def task_times(
        self, day: int, count: int, *, first_hour: float = 7.0, last_hour: float = 19.0
    ) -> list[datetime]:
        base = self.day_start(day)
        seconds = sorted(
            self.rng.uniform(first_hour * 3600, last_hour * 3600) for _ in range(count)
        )
        return [base + timedelta(seconds=value) for value in seconds]

    def new_credential(
        self, *parts: object, issued_at: datetime | None, expires_at: datetime | None
    ) -> Credential:
        return Credential(
            stable_id("cred", self.plan.seed, self.agent.agent_id, *parts), issued_at, expires_at
        )
