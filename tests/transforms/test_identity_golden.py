"""Golden cases of the identity model: events in, expected table rows out.

The cases live in `golden/*.yaml`, one file per table family; each case has a title, the
events sent and the rows expected, compared only on the columns the case lists. Rows are
compared in the order of the table's key columns, so each case lists them in that order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.lake import warehouse_from_events

GOLDEN_DIR = Path(__file__).parent / "golden"

# The order in which rows of each table are compared.
TABLE_ORDER = {
    "tasks": "task_id",
    "credentials": "credential_id",
    "grants": "principal_id, scope, granted_at",
    "scope_usage": "principal_id, scope",
    "access_map": "agent_id, principal_id, scope NULLS FIRST, system NULLS FIRST, access_basis",
}
SHORT_KEYS = {"id": "event_id", "type": "event_type", "at": "event_time"}
EVENT_DEFAULTS = {"schema_version": "1", "agent_id": "support_bot-01", "agent_kind": "support_bot"}


def load_cases() -> list[Any]:
    cases = []
    for path in sorted(GOLDEN_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            cases.append(pytest.param(case, id=f"{path.stem}: {case['title']}"))
    return cases


def expand_event(short: dict[str, Any]) -> dict[str, Any]:
    event = dict(EVENT_DEFAULTS)
    for key, value in short.items():
        event[SHORT_KEYS.get(key, key)] = value
    return event


def comparable(value: Any) -> Any:
    """Render a DuckDB value the way the YAML cases write it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, timedelta):
        return str(value)
    return value


def fetch_rows(con, table: str, columns: list[str]) -> list[dict[str, Any]]:
    if not columns:
        columns = ["*"]
    result = con.execute(f"SELECT * FROM {table} ORDER BY {TABLE_ORDER[table]}")
    names = [description[0] for description in result.description]
    return [
        {name: comparable(value) for name, value in zip(names, row, strict=True)}
        for row in result.fetchall()
    ]


@pytest.mark.parametrize("case", load_cases())
def test_identity_golden_case(case, tmp_path):
    events = [expand_event(event) for event in case["events"]]
    con = warehouse_from_events(events, tmp_path)

    for table, expected_rows in case["expected"].items():
        actual_rows = fetch_rows(con, table, [])
        assert len(actual_rows) == len(expected_rows), f"{table}: {actual_rows}"
        for index, (actual, expected) in enumerate(zip(actual_rows, expected_rows, strict=True)):
            picked = {column: actual[column] for column in expected}
            assert picked == expected, f"{table} row {index}"
