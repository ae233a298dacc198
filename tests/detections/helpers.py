"""Shared steps of the detection tests: build a warehouse from events and run rules on it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from detections.catalog import Fixture, Rule
from detections.runner import RunResult, run_detections
from tests.helpers.lake import warehouse_from_events

# Events in fixtures are dated in 2025 and 2026; contract validation compares them with now.
FIXTURE_NOW = datetime(2030, 1, 1, tzinfo=UTC)
RUN_TIME = datetime(2030, 1, 2, tzinfo=UTC)


def fixture_warehouse(events: list[dict[str, Any]], tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """Return a connection to a warehouse built from `events` by the real transforms."""
    return warehouse_from_events(events, tmp_path, now=FIXTURE_NOW)


def run_fixture(
    con: duckdb.DuckDBPyConnection, rule: Rule, fixture: Fixture, **overrides: Any
) -> RunResult:
    """Run `rule` alone over the fixture's warehouse with the fixture's settings."""
    arguments: dict[str, Any] = {
        "thresholds": {rule.id: fixture.thresholds} if fixture.thresholds else {},
        "suppressions": [],
        "boundaries": fixture.boundaries,
        "as_of": fixture.as_of,
        "rule_ids": [rule.id],
        "now": RUN_TIME,
    }
    arguments.update(overrides)
    return run_detections(con, **arguments)


def alerted_entities(con: duckdb.DuckDBPyConnection, rule_id: str) -> list[str]:
    rows = con.execute(
        "SELECT entity_id FROM alerts WHERE rule_id = ? ORDER BY entity_id", [rule_id]
    ).fetchall()
    return [row[0] for row in rows]
