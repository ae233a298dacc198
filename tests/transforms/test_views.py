"""The quarantine view and the list of queryable warehouse names.

The empty quarantine view must have the same columns as the view over real quarantine
files, so queries written on a fresh install keep working once records arrive.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.kafka.quarantine_schema import QUARANTINE_SCHEMA, quarantine_row
from tests.helpers.lake import warehouse_from_events
from transforms.views import create_views

QUARANTINED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def write_quarantine(lake_dir, reasons: list[str]) -> None:
    rows = [
        quarantine_row(
            value=b"{not json",
            key=b"support_bot-01",
            reason=reason,
            field=None,
            topic="agent.decisions",
            partition=0,
            offset=offset,
            timestamp_ms=1_700_000_000_000,
            quarantined_at=QUARANTINED_AT,
        )
        for offset, reason in enumerate(reasons)
    ]
    path = lake_dir / "quarantine" / "ingest_date=2026-11-01" / "agent.decisions+0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA), path)


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def columns_of(con, name: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"DESCRIBE {name}").fetchall()]


def test_quarantine_view_without_files_is_empty(con, tmp_path):
    create_views(con, tmp_path / "lake")
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_quarantine_view_reads_records(con, tmp_path):
    lake_dir = tmp_path / "lake"
    write_quarantine(lake_dir, ["invalid JSON", "missing required field event_id"])

    create_views(con, lake_dir)

    rows = con.execute(
        "SELECT reason, source_offset, ingest_date FROM quarantine ORDER BY source_offset"
    ).fetchall()
    assert rows == [
        ("invalid JSON", 0, datetime(2026, 11, 1).date()),
        ("missing required field event_id", 1, datetime(2026, 11, 1).date()),
    ]


def test_empty_quarantine_view_matches_real_columns(tmp_path):
    empty = duckdb.connect()
    create_views(empty, tmp_path / "empty-lake")
    lake_dir = tmp_path / "lake"
    write_quarantine(lake_dir, ["invalid JSON"])
    real = duckdb.connect()
    create_views(real, lake_dir)

    assert columns_of(empty, "quarantine") == columns_of(real, "quarantine")


def test_create_views_lists_names_not_created(con, tmp_path):
    missing = create_views(con, tmp_path / "lake")
    assert "decision_events" in missing
    assert "quarantine" not in missing


def test_every_transform_name_is_queryable(tmp_path):
    event = {
        "event_id": "evt-1",
        "schema_version": "1",
        "event_time": "2026-11-01T09:00:00Z",
        "event_type": "task_started",
        "agent_id": "support_bot-01",
        "task_id": "task-1",
    }
    con = warehouse_from_events([event], tmp_path)

    missing = create_views(con, tmp_path / "lake")

    assert missing == ["alerts", "deliveries"]
