"""The event stream of a simulated fleet, in event-time order, one day at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from pipelines.sources.simulator.agent import AgentSim
from pipelines.sources.simulator.behaviours import DAY_BEHAVIOURS, prologue
from pipelines.sources.simulator.cases import CASES
from pipelines.sources.simulator.fleet import FleetPlan, plan_fleet
from pipelines.sources.simulator.noise import apply_grant_changes, plan_noise, plan_onboarding

logger = logging.getLogger(__name__)

DEFAULT_NOISE = 1.0


def simulate_fleet(
    *,
    seed: int,
    days: int,
    agents_per_kind: int,
    start: datetime | None = None,
    inject: bool = True,
    noise: float = DEFAULT_NOISE,
) -> Iterator[dict]:
    """Yield the contract v1 events of a simulated fleet in event-time order.

    The same arguments give the same events with the same event_ids. The ground truth of
    the same fleet is `plan_fleet(...).ground_truth` with the same seed, days,
    agents_per_kind, start and inject.
    """
    plan = plan_fleet(
        seed=seed, days=days, agents_per_kind=agents_per_kind, start=start, inject=inject
    )
    yield from generate_events(plan, noise=noise)


def generate_events(
    plan: FleetPlan,
    *,
    noise: float = DEFAULT_NOISE,
    on_day: Callable[[int], None] | None = None,
) -> Iterator[dict]:
    """Yield the events of `plan`: history before the period, then each day in turn.

    `on_day` is called with the day index after each simulated day, for progress bars.
    """
    if noise < 0:
        raise ValueError(f"noise must be 0 or more, got {noise}")
    sims = [AgentSim(plan, agent, noise) for agent in plan.agents]
    for sim in sims:
        for case_name in sim.agent.cases:
            setup = CASES[case_name].setup
            if setup is not None:
                setup(sim)
        plan_onboarding(sim)
        prologue(sim)
        plan_noise(sim)
    total = yield from _drain(sims)
    for day in range(plan.days):
        for sim in sims:
            sim.denials_today = 0
            apply_grant_changes(sim, day)
            DAY_BEHAVIOURS[sim.agent.kind](sim, day, sim.due_scopes(day))
            for case_name, case_day in sim.agent.case_days.items():
                if case_day == day:
                    CASES[case_name].run(sim, day)
        total += yield from _drain(sims)
        if on_day is not None:
            on_day(day)
    logger.info(
        "simulated seed %d: %d agents, %d days, %d events, %d ground-truth rows",
        plan.seed,
        len(plan.agents),
        plan.days,
        total,
        len(plan.ground_truth),
    )


def _drain(sims: list[AgentSim]) -> Iterator[dict]:
    """Yield the events buffered by every agent in event-time order and empty the buffers.

    Every event_time has the same ISO format, so ordering the strings orders the times.
    """
    batch = [
        (event["event_time"], index, position, event)
        for index, sim in enumerate(sims)
        for position, event in enumerate(sim.events)
    ]
    for sim in sims:
        sim.events.clear()
    batch.sort(key=lambda item: item[:3])
    for item in batch:
        yield item[3]
    return len(batch)
