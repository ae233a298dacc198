"""The plan of a simulated fleet: its agents, their teams, the period and the injected cases.

The plan is fixed by the seed before any event is generated, so the ground truth is known
up front and does not depend on the noise level.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pipelines.sources.simulator.catalogue import AGENT_KINDS, DEV_ASSISTANT, SUPPORT_BOT

# The simulated period ends here unless the caller gives a start. It lies in the past so
# that events pass the contract's future-skew check, and it is fixed so that a seed gives
# the same events whatever day the simulator runs.
DEFAULT_END = datetime(2026, 9, 1, tzinfo=UTC)
# Grants that exist before the period date from at least this long before its end, so
# that the unused-grant rule (90 days by default) has history even for a short period.
GRANT_HISTORY = timedelta(days=120)

FIRST_NAMES = (
    "alice",
    "bruno",
    "chen",
    "dana",
    "emeka",
    "farah",
    "goran",
    "hana",
    "ivan",
    "julia",
    "kofi",
    "lena",
    "mateo",
    "nadia",
    "oskar",
    "priya",
    "quinn",
    "rosa",
    "sven",
    "tomas",
)
LAST_NAMES = (
    "adams",
    "berg",
    "costa",
    "diaz",
    "evans",
    "fischer",
    "garcia",
    "haas",
    "ito",
    "jones",
    "kim",
    "lopez",
    "moreau",
    "novak",
    "okafor",
    "petrov",
    "quist",
    "rossi",
    "silva",
    "tan",
)


@dataclass
class AgentPlan:
    """One simulated agent: id, kind, the users who give it tasks and its injected cases."""

    agent_id: str
    kind: str
    team: tuple[str, ...]
    cases: list[str] = field(default_factory=list)
    case_days: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.cases

    @property
    def machine_principal_id(self) -> str:
        prefix = "wl" if self.kind == DEV_ASSISTANT else "sa"
        return f"{prefix}:{self.agent_id}"


@dataclass
class FleetPlan:
    """Everything the generator needs before it emits the first event."""

    seed: int
    days: int
    agents_per_kind: int
    start: datetime
    inject: bool
    agents: list[AgentPlan]
    ground_truth: list[dict]

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def history_start(self) -> datetime:
        """When the grants that predate the period were made."""
        return min(self.start, self.end - GRANT_HISTORY)

    def metadata(self) -> dict:
        """Describe the fleet for `fleet.json`: parameters, agents, kinds and clean flags."""
        return {
            "seed": self.seed,
            "days": self.days,
            "agents_per_kind": self.agents_per_kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "inject": self.inject,
            "agents": [
                {
                    "agent_id": agent.agent_id,
                    "agent_kind": agent.kind,
                    "clean": agent.clean,
                    "cases": list(agent.cases),
                }
                for agent in self.agents
            ],
            "clean_agents": [agent.agent_id for agent in self.agents if agent.clean],
        }


def user_pool(rng: random.Random, size: int) -> list[str]:
    """Draw `size` distinct users named `user:<first>.<last>@example.com`."""
    names = [f"{first}.{last}" for first in FIRST_NAMES for last in LAST_NAMES]
    return [f"user:{name}@example.com" for name in rng.sample(names, size)]


def plan_fleet(
    *,
    seed: int,
    days: int,
    agents_per_kind: int,
    start: datetime | None = None,
    inject: bool = True,
) -> FleetPlan:
    """Plan the fleet: agents per kind, their teams, and which agent carries which case.

    Each injected case gets its own agent. When a kind has more cases than
    `agents_per_kind - 1`, the kind grows so that at least one of its agents stays clean.
    """
    from pipelines.sources.simulator.cases import CASES, cases_for_kind, truth_rows

    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if agents_per_kind < 1:
        raise ValueError(f"agents_per_kind must be at least 1, got {agents_per_kind}")
    if start is None:
        start = DEFAULT_END - timedelta(days=days)
    if start.tzinfo is None:
        raise ValueError(f"start {start.isoformat()} has no UTC offset; pass an aware datetime")
    start = start.astimezone(UTC)

    rng = random.Random(f"fleet|{seed}")
    users = user_pool(rng, 60)
    agents: list[AgentPlan] = []
    for kind in AGENT_KINDS:
        kind_cases = [case.name for case in cases_for_kind(kind)] if inject else []
        count = max(agents_per_kind, len(kind_cases) + 1) if kind_cases else agents_per_kind
        team_size = 6 if kind == SUPPORT_BOT else 4
        kind_agents = [
            AgentPlan(f"{kind}-{number:02d}", kind, tuple(rng.sample(users, team_size)))
            for number in range(1, count + 1)
        ]
        carriers = rng.sample(kind_agents, len(kind_cases))
        for agent, case_name in zip(carriers, kind_cases, strict=True):
            agent.cases.append(case_name)
            # Cases fall in the last 20 days, inside every rule's lookback window.
            agent.case_days[case_name] = rng.randint(max(0, days - 20), days - 1)
        agents.extend(kind_agents)

    ground_truth = [
        row
        for agent in agents
        for case_name in agent.cases
        for row in truth_rows(CASES[case_name], seed, agent)
    ]
    return FleetPlan(seed, days, agents_per_kind, start, inject, agents, ground_truth)
