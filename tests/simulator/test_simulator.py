"""The fleet simulator: determinism, contract validity, ground truth and the clean fleet.

The detection rules themselves are exercised in test_evaluation.py; these tests check the
simulator's own promises without the warehouse.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from pipelines.settings import REPO_ROOT
from pipelines.sources.simulator import (
    DEFAULT_END,
    load_ground_truth,
    plan_fleet,
    simulate_fleet,
    write_ground_truth,
)
from pipelines.sources.simulator.cases import CASES, truth_rows
from pipelines.sources.simulator.catalogue import AGENT_KINDS, kind_tools
from transforms.contract import normalize_event

RULE_IDS = {
    "privilege_creep",
    "blended_identity",
    "unused_grant",
    "credential_outlives_task",
    "sensitive_action_without_approval",
    "tool_outside_boundary",
    "credential_rotation_overdue",
    "secret_in_event",
    "policy_denial_burst",
}
SMALL = {"seed": 11, "days": 6, "agents_per_kind": 2}


@pytest.fixture(scope="module")
def small_events() -> list[dict]:
    return list(simulate_fleet(**SMALL))


@pytest.fixture(scope="module")
def small_plan():
    return plan_fleet(**SMALL)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_same_seed_same_events_and_truth(small_events):
    again = list(simulate_fleet(**SMALL))
    assert [e["event_id"] for e in again] == [e["event_id"] for e in small_events]
    assert again == small_events
    assert plan_fleet(**SMALL).ground_truth == plan_fleet(**SMALL).ground_truth


def test_other_seed_other_event_ids(small_events):
    other = list(simulate_fleet(**{**SMALL, "seed": 12}))
    assert not {e["event_id"] for e in other} & {e["event_id"] for e in small_events}


def test_event_ids_unique(small_events):
    ids = [event["event_id"] for event in small_events]
    assert len(ids) == len(set(ids))


def test_default_period_fixed_and_past(small_plan):
    assert small_plan.end == DEFAULT_END
    assert small_plan.start == DEFAULT_END - timedelta(days=SMALL["days"])
    assert small_plan.end < datetime.now(UTC)


def test_events_within_period(small_events, small_plan):
    times = [parse(event["event_time"]) for event in small_events]
    assert times == sorted(times)
    assert max(times) < small_plan.end
    history_types = {
        e["event_type"] for e in small_events if parse(e["event_time"]) < small_plan.start
    }
    assert history_types <= {"grant_added", "credential_issued"}


def test_every_event_meets_contract(small_events):
    redacted_agents = set()
    for event in small_events:
        row = normalize_event(event)
        assert row["event_id"] == event["event_id"]
        if row["redacted_fields"]:
            redacted_agents.add(event["agent_id"])
    secret_agents = {
        r["agent_id"] for r in plan_fleet(**SMALL).ground_truth if r["rule_id"] == "secret_in_event"
    }
    assert redacted_agents == secret_agents


def test_ground_truth_lists_every_case(small_plan):
    cases = [row["case"] for row in small_plan.ground_truth]
    assert sorted(cases) == sorted(CASES)
    assert {row["rule_id"] for row in small_plan.ground_truth} == RULE_IDS
    for row in small_plan.ground_truth:
        assert set(row) >= {"rule_id", "entity_type", "entity_id", "case"}


def test_ground_truth_covers_rule_variants(small_plan):
    variants = defaultdict(set)
    for row in small_plan.ground_truth:
        variants[row["rule_id"]].add(row["variant"])
    assert variants["privilege_creep"] == {"a", "b"}
    assert variants["blended_identity"] == {"a", "b", "c"}
    assert variants["credential_outlives_task"] == {"a", "b", "c", "d", "e"}


def test_case_entities_appear_in_events(small_events, small_plan):
    seen = set()
    for event in small_events:
        for key in ("task_id", "credential_id", "principal_id", "agent_id"):
            if event.get(key):
                seen.add(event[key])
    for row in small_plan.ground_truth:
        assert row["entity_id"] in seen, row["case"]


def test_clean_agents_carry_no_case(small_plan):
    metadata = small_plan.metadata()
    truth_agents = {row["agent_id"] for row in small_plan.ground_truth}
    assert metadata["clean_agents"]
    assert not set(metadata["clean_agents"]) & truth_agents
    for kind in AGENT_KINDS:
        kind_agents = [a for a in metadata["agents"] if a["agent_kind"] == kind]
        assert any(agent["clean"] for agent in kind_agents), kind


def test_no_inject_all_clean():
    plan = plan_fleet(seed=3, days=3, agents_per_kind=2, inject=False)
    assert plan.ground_truth == []
    assert len(plan.agents) == 2 * len(AGENT_KINDS)
    assert all(agent.clean for agent in plan.agents)


def test_every_task_starts_and_ends(small_events):
    types = defaultdict(set)
    for event in small_events:
        if event.get("task_id"):
            types[event["task_id"]].add(event["event_type"])
    for task_id, seen in types.items():
        assert "task_started" in seen, task_id
        assert seen & {"task_completed", "task_failed"}, task_id


def test_delegated_events_name_user(small_events, small_plan):
    clean = set(small_plan.metadata()["clean_agents"])
    for event in small_events:
        if event["agent_id"] in clean and event.get("principal_type") == "delegated_user":
            assert event["on_behalf_of"] == event["principal_id"]
            assert event["on_behalf_of"] == event["initiated_by"]


def test_clean_task_tokens_end_with_task(small_events, small_plan):
    clean = set(small_plan.metadata()["clean_agents"])
    ends, expiries, issued_task = {}, {}, {}
    for event in small_events:
        if event["agent_id"] not in clean:
            continue
        if event["event_type"] in ("task_completed", "task_failed"):
            ends[event["task_id"]] = parse(event["event_time"])
        if event["event_type"] == "credential_issued" and event.get("task_id"):
            issued_task[event["credential_id"]] = event["task_id"]
            expiries[event["credential_id"]] = parse(event["credential_expires_at"])
    assert issued_task
    for credential_id, task_id in issued_task.items():
        assert expiries[credential_id] <= ends[task_id] + timedelta(minutes=10)


def test_sensitive_writes_of_clean_agents_approved(small_events, small_plan):
    clean = set(small_plan.metadata()["clean_agents"])
    approved = set()
    for event in small_events:
        if event["event_type"] == "approval_granted":
            approved.add(event["approval_id"])
        sensitive = (
            event["event_type"] == "tool_invoked"
            and event.get("action") in ("write", "delete", "export")
            and event.get("data_classification") in ("confidential", "restricted")
        )
        if sensitive and event["agent_id"] in clean:
            assert event["approval_id"] in approved


def test_pre_period_grants_predate_unused_window(small_events, small_plan):
    onboarding = [e for e in small_events if e.get("reason") == "agent onboarded"]
    assert len(onboarding) == len(small_plan.agents)
    for event in onboarding:
        assert parse(event["event_time"]) <= small_plan.end - timedelta(days=120)


def test_noise_zero_has_no_grant_changes():
    events = list(simulate_fleet(seed=5, days=40, agents_per_kind=2, inject=False, noise=0))
    assert not [e for e in events if e["event_type"] == "grant_removed"]
    assert not [e for e in events if e.get("outcome") == "denied"]


def test_noise_adds_legitimate_changes():
    events = list(simulate_fleet(seed=5, days=120, agents_per_kind=3, inject=False, noise=2.0))
    assert [e for e in events if e["event_type"] == "grant_removed"]
    assert [e for e in events if e.get("reason") == "aligned with peer agents"]
    assert [e for e in events if e.get("decision") == "deny"]


def test_ground_truth_files_round_trip(tmp_path: Path, small_plan):
    truth_path, fleet_path = write_ground_truth(small_plan, tmp_path)
    assert load_ground_truth(truth_path) == small_plan.ground_truth
    fleet = json.loads(fleet_path.read_text())
    assert fleet["seed"] == SMALL["seed"]
    assert fleet["days"] == SMALL["days"]
    assert fleet["clean_agents"] == [a.agent_id for a in small_plan.agents if a.clean]


def test_catalogue_inside_boundaries():
    path = REPO_ROOT / "config" / "boundaries.yaml"
    if not path.exists():
        pytest.skip("config/boundaries.yaml is not written yet")
    boundaries = (yaml.safe_load(path.read_text()) or {}).get("agent_kinds") or {}
    for kind in AGENT_KINDS:
        boundary = boundaries.get(kind)
        assert boundary, f"no boundary for {kind}"
        for tool in kind_tools(kind):
            if boundary.get("tools") is not None:
                assert any(fnmatch.fnmatchcase(tool.name, g) for g in boundary["tools"]), tool.name
            if boundary.get("systems") is not None:
                assert any(fnmatch.fnmatchcase(tool.system, g) for g in boundary["systems"]), (
                    tool.system
                )


def test_invalid_arguments_rejected():
    with pytest.raises(ValueError, match="days"):
        plan_fleet(seed=1, days=0, agents_per_kind=1)
    with pytest.raises(ValueError, match="agents_per_kind"):
        plan_fleet(seed=1, days=1, agents_per_kind=0)
    with pytest.raises(ValueError, match="UTC offset"):
        plan_fleet(seed=1, days=1, agents_per_kind=1, start=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="noise"):
        list(simulate_fleet(seed=1, days=1, agents_per_kind=1, noise=-1))


def test_clean_grants_used_within_90_days():
    events = list(simulate_fleet(seed=9, days=95, agents_per_kind=2, inject=False, noise=3.0))
    as_of = parse(events[-1]["event_time"])
    held: dict[tuple[str, str], datetime] = {}
    last_use: dict[tuple[str, str], datetime] = {}
    for event in events:
        moment = parse(event["event_time"])
        keys = [(event.get("principal_id"), scope) for scope in event.get("scopes", [])]
        if event["event_type"] == "grant_added":
            held.update({key: moment for key in keys})
        elif event["event_type"] == "grant_removed":
            for key in keys:
                held.pop(key, None)
        elif event["event_type"] == "tool_invoked" and event.get("outcome") == "success":
            last_use.update({key: moment for key in keys})
    window = timedelta(days=90)
    stale = [
        key
        for key, granted in held.items()
        if granted <= as_of - window and last_use.get(key, granted) < as_of - window
    ]
    assert held
    assert stale == []


def test_second_rule_gets_own_row(small_plan):
    case = dataclasses.replace(
        CASES["credential_standing_agent"],
        also=(("credential_rotation_overdue", "credential"),),
    )
    agent = next(a for a in small_plan.agents if "credential_standing_agent" in a.cases)
    rows = truth_rows(case, SMALL["seed"], agent)
    assert [row["rule_id"] for row in rows] == [
        "credential_outlives_task",
        "credential_rotation_overdue",
    ]
    assert rows[0]["entity_id"] == rows[1]["entity_id"]
