"""Labelled simulator of an agent fleet: normal work, noise and injected misbehaviour.

`simulate_fleet` yields contract v1 events; `plan_fleet` gives the fleet and its ground
truth for the same arguments. See docs/simulator.md.
"""

from pipelines.sources.simulator.fleet import DEFAULT_END, FleetPlan, plan_fleet
from pipelines.sources.simulator.generate import DEFAULT_NOISE, generate_events, simulate_fleet
from pipelines.sources.simulator.truth import (
    EVENTS_FILE,
    FLEET_FILE,
    GROUND_TRUTH_FILE,
    load_ground_truth,
    write_events,
    write_ground_truth,
)

__all__ = [
    "DEFAULT_END",
    "DEFAULT_NOISE",
    "EVENTS_FILE",
    "FLEET_FILE",
    "GROUND_TRUTH_FILE",
    "FleetPlan",
    "generate_events",
    "load_ground_truth",
    "plan_fleet",
    "simulate_fleet",
    "write_events",
    "write_ground_truth",
]
