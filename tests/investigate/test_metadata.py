"""Alert metadata for the Dagster UI, computed on the scenario fleet's warehouse."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from pipelines.defs.metadata import alerts_metadata, text_bar


@pytest.fixture
def metadata(fleet_dir):
    with duckdb.connect(str(fleet_dir / "warehouse.duckdb"), read_only=True) as con:
        return alerts_metadata(con, {"total": 2})


def test_open_alerts_per_severity(metadata):
    assert metadata["open_alerts_high"] == 2
    assert metadata["open_alerts_critical"] == 0
    assert metadata["dagster/row_count"] == 2


def test_alerts_per_rule_table(metadata):
    table = metadata["alerts_per_rule_table"]
    assert isinstance(table, dg.TableMetadataValue)
    rules = {record.data["rule"]: record.data["alerts"] for record in table.records}
    assert rules == {"credential_outlives_task": 1, "privilege_creep": 1}


def test_alerts_per_day_chart(metadata):
    lines = metadata["alerts_per_day"].value.splitlines()
    assert lines[0] == "| day (UTC) | new alerts | chart | per rule |"
    assert lines[2].startswith("| 2026-03-09 | 1 | █")
    assert lines[2].endswith("| privilege_creep 1 |")
    assert lines[3].endswith("| credential_outlives_task 1 |")


def test_scope_growth_chart(metadata):
    lines = metadata["scope_growth"].value.splitlines()
    assert lines[2].startswith("| svc-support | 2026-03-09 | 3 | █")


def test_text_bar_scales():
    assert text_bar(0, 10) == ""
    assert text_bar(10, 10, width=20) == "█" * 20
    assert text_bar(1, 1000, width=20) == "█"
    assert text_bar(5, 10, width=20) == "█" * 10
