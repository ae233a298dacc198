"""Task boundaries for sources that record calls but not tasks.

A source mapper assigns each event a task_id and describes each task with a `TaskSpec`.
`add_task_events` then adds a synthesized task_started at the task's start and a
task_completed at its last event, both marked `attributes.derived = true`, and numbers the
steps of each task in time order with `parent_event_id` pointing at the step before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipelines.sources.common import isoformat, parse_iso_utc

# Fields copied from the task's spec onto its synthesized start and end events.
_SPEC_FIELDS = (
    "agent_id",
    "agent_kind",
    "initiated_by",
    "principal_id",
    "principal_type",
    "on_behalf_of",
    "source",
    "tenant",
)


@dataclass
class TaskSpec:
    """Facts a source mapper has about one derived task."""

    task_id: str
    agent_id: str
    agent_kind: str | None = None
    initiated_by: str | None = None
    principal_id: str | None = None
    principal_type: str | None = None
    on_behalf_of: str | None = None
    source: str | None = None
    tenant: str | None = None
    # When the task started, if the source records it (e.g. the credential issue time).
    started_at: datetime | None = None
    # A task with no completion evidence stays open: no task_completed is synthesized.
    open: bool = False
    basis: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _derived_event(spec: TaskSpec, event_type: str, moment: datetime) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"{spec.task_id}:{event_type}",
        "schema_version": "1",
        "event_time": isoformat(moment),
        "event_type": event_type,
        "task_id": spec.task_id,
    }
    for name in _SPEC_FIELDS:
        value = getattr(spec, name)
        if value is not None:
            event[name] = value
    event["attributes"] = {"derived": True, "task_basis": spec.basis, **spec.extra}
    return event


def add_task_events(
    events: list[dict[str, Any]], specs: dict[str, TaskSpec]
) -> list[dict[str, Any]]:
    """Return the events with synthesized task boundaries, steps and parents, in time order.

    Events without a task_id pass through unchanged. A task whose spec is missing gets no
    boundary events, only steps.
    """
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    loose: list[dict[str, Any]] = []
    for event in events:
        (by_task[event["task_id"]] if event.get("task_id") else loose).append(event)

    result = list(loose)
    for task_id, members in by_task.items():
        members.sort(key=lambda item: (parse_iso_utc(item["event_time"]), item["event_id"]))
        spec = specs.get(task_id)
        chain = list(members)
        if spec is not None:
            first = parse_iso_utc(members[0]["event_time"])
            last = parse_iso_utc(members[-1]["event_time"])
            start = min(spec.started_at, first) if spec.started_at else first
            chain.insert(0, _derived_event(spec, "task_started", start))
            if not spec.open:
                chain.append(_derived_event(spec, "task_completed", last))
        for step, event in enumerate(chain, start=1):
            event["step"] = step
            if step > 1:
                event["parent_event_id"] = chain[step - 2]["event_id"]
        result.extend(chain)

    result.sort(key=lambda item: (parse_iso_utc(item["event_time"]), item.get("step") or 0))
    return result
