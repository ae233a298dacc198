"""Valid contract events for Kafka and lake tests, numbered so a test can find each one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

BASE_TIME = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
EVENT_TYPES = ("tool_selected", "tool_invoked", "credential_used", "policy_evaluated")


def make_event(number: int, *, days: int = 3, agents: int = 24, **fields: Any) -> dict[str, Any]:
    """Return valid event number `number`: event_id ev-<number>, spread over `days` dates."""
    event_time = BASE_TIME + timedelta(days=number % days, seconds=number)
    event = {
        "event_id": f"ev-{number:08d}",
        "schema_version": "1",
        "event_time": event_time.isoformat().replace("+00:00", "Z"),
        "event_type": EVENT_TYPES[number % len(EVENT_TYPES)],
        "agent_id": f"support_bot-{number % agents:02d}",
        "agent_kind": "support_bot",
        "task_id": f"task-{number // 10}",
        "principal_id": "sa:support_bot",
        "principal_type": "service_account",
        "tool": "crm.read_contact",
        "action": "read",
        "system": "crm",
        "outcome": "success",
        "scopes": ["crm.read"],
    }
    event.update(fields)
    return event


def make_events(count: int, *, start: int = 0, **kwargs: Any) -> list[dict[str, Any]]:
    """Return `count` valid events numbered from `start`."""
    return [make_event(number, **kwargs) for number in range(start, start + count)]
