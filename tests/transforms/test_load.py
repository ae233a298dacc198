"""Incremental lake load: new files only, duplicates and conflicts, schema evolution.

Every test writes real Parquet files and loads them into a DuckDB file under tmp_path.
Not covered here: load speed (see `python -m transforms.benchmark`).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers.lake import normalize_events, write_lake
from transforms.contract import EVENT_SCHEMA, rows_to_table
from transforms.load import ensure_schema, load_lake

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def event(n: int, **fields) -> dict:
    base = {
        "event_id": f"evt-{n:04d}",
        "schema_version": "1",
        "event_time": T0 + timedelta(minutes=n),
        "event_type": "tool_invoked",
        "agent_id": "support_bot-01",
        "agent_kind": "support_bot",
        "task_id": "task-1",
        "principal_id": "sa:support_bot-01",
        "principal_type": "service_account",
        "scopes": ["crm.read"],
        "system": "crm",
        "outcome": "success",
    }
    base.update(fields)
    return base


@pytest.fixture
def decisions_dir(tmp_path: Path) -> Path:
    path = tmp_path / "lake" / "decisions"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_schema(connection)
    yield connection
    connection.close()


def stored_ids(con) -> list[str]:
    return [
        row[0] for row in con.execute("SELECT event_id FROM decision_events ORDER BY 1").fetchall()
    ]


def test_ensure_schema_is_idempotent(con):
    ensure_schema(con)
    ensure_schema(con)
    tables = {
        row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert {"decision_events", "loaded_files", "load_runs", "event_conflicts"} <= tables


def test_decision_events_has_contract_and_load_columns(con):
    columns = [row[0] for row in con.execute("DESCRIBE decision_events").fetchall()]
    assert columns == EVENT_SCHEMA.names + ["event_date", "lake_file", "load_id"]


def test_first_load_reads_every_file(con, decisions_dir):
    write_lake([event(1), event(2)], decisions_dir, file_name="a.parquet")
    write_lake([event(3)], decisions_dir, file_name="b.parquet")

    result = load_lake(con, decisions_dir)

    assert result.files_loaded == 2
    assert result.rows_read == 3
    assert result.rows_inserted == 3
    assert result.duplicates_skipped == 0
    assert result.load_id == 1
    assert stored_ids(con) == ["evt-0001", "evt-0002", "evt-0003"]


def test_second_load_reads_only_new_files(con, decisions_dir):
    write_lake([event(1), event(2)], decisions_dir, file_name="a.parquet")
    load_lake(con, decisions_dir)
    new_file = write_lake([event(3)], decisions_dir, file_name="b.parquet")[0]

    result = load_lake(con, decisions_dir)

    assert result.files_loaded == 1
    assert result.rows_read == 1
    assert result.load_id == 2
    loaded = con.execute(
        "SELECT path, rows, load_id FROM loaded_files WHERE load_id = 2"
    ).fetchall()
    assert loaded == [(new_file.resolve().as_posix(), 1, 2)]
    rows = con.execute("SELECT load_id, count(*) FROM decision_events GROUP BY 1 ORDER BY 1")
    assert rows.fetchall() == [(1, 2), (2, 1)]


def test_load_without_new_files_records_no_run(con, decisions_dir):
    write_lake([event(1)], decisions_dir)
    load_lake(con, decisions_dir)

    result = load_lake(con, decisions_dir)

    assert result.files_loaded == 0
    assert result.load_id is None
    assert con.execute("SELECT count(*) FROM load_runs").fetchone()[0] == 1


def test_missing_lake_folder_loads_nothing(con, tmp_path):
    result = load_lake(con, tmp_path / "no-such-folder")
    assert result.files_loaded == 0
    assert result.load_id is None


def test_changed_file_is_read_again(con, decisions_dir):
    path = write_lake([event(1)], decisions_dir, file_name="a.parquet")[0]
    load_lake(con, decisions_dir)
    write_lake([event(1), event(2)], decisions_dir, file_name="a.parquet")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))

    result = load_lake(con, decisions_dir)

    assert result.files_loaded == 1
    assert result.rows_read == 2
    assert result.rows_inserted == 1
    assert result.duplicates_skipped == 1
    assert result.conflicts == 0
    assert stored_ids(con) == ["evt-0001", "evt-0002"]


def test_files_in_progress_are_not_read(con, decisions_dir):
    write_lake([event(1)], decisions_dir, file_name=".a.parquet.tmp.parquet")
    write_lake([event(2)], decisions_dir / "_state", file_name="b.parquet")

    result = load_lake(con, decisions_dir)

    assert result.files_loaded == 0


def test_identical_copies_in_one_batch_load_once(con, decisions_dir):
    write_lake([event(1), event(2)], decisions_dir, file_name="a.parquet")
    write_lake([event(1)], decisions_dir, file_name="b.parquet")

    result = load_lake(con, decisions_dir)

    assert result.rows_read == 3
    assert result.rows_inserted == 2
    assert result.duplicates_skipped == 1
    assert result.conflicts == 0
    assert con.execute("SELECT count(*) FROM event_conflicts").fetchone()[0] == 0


def test_identical_copy_in_later_load_is_skipped(con, decisions_dir):
    write_lake([event(1)], decisions_dir, file_name="a.parquet")
    load_lake(con, decisions_dir)
    write_lake([event(1), event(2)], decisions_dir, file_name="b.parquet")

    result = load_lake(con, decisions_dir)

    assert result.rows_inserted == 1
    assert result.duplicates_skipped == 1
    assert result.conflicts == 0
    assert stored_ids(con) == ["evt-0001", "evt-0002"]


def test_conflicting_copy_in_later_load_keeps_first(con, decisions_dir):
    write_lake([event(1, system="crm")], decisions_dir, file_name="a.parquet")
    load_lake(con, decisions_dir)
    second = write_lake([event(1, system="billing")], decisions_dir, file_name="b.parquet")[0]

    result = load_lake(con, decisions_dir)

    assert result.rows_inserted == 0
    assert result.conflicts == 1
    assert con.execute("SELECT system FROM decision_events").fetchall() == [("crm",)]
    conflicts = con.execute("SELECT event_id, lake_file, load_id FROM event_conflicts")
    assert conflicts.fetchall() == [("evt-0001", second.resolve().as_posix(), 2)]


def test_conflicting_copies_in_one_batch_keep_first_file(con, decisions_dir):
    write_lake([event(1, system="crm")], decisions_dir, file_name="a.parquet")
    write_lake([event(1, system="billing")], decisions_dir, file_name="b.parquet")

    result = load_lake(con, decisions_dir)

    assert result.rows_inserted == 1
    assert result.conflicts == 1
    assert con.execute("SELECT system FROM decision_events").fetchall() == [("crm",)]
    lake_file = con.execute("SELECT lake_file FROM event_conflicts").fetchone()[0]
    assert lake_file.endswith("b.parquet")


def test_conflict_read_again_is_recorded_once(con, decisions_dir):
    write_lake([event(1, system="crm")], decisions_dir, file_name="a.parquet")
    path = write_lake([event(1, system="billing")], decisions_dir, file_name="b.parquet")[0]
    load_lake(con, decisions_dir)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))

    result = load_lake(con, decisions_dir)

    assert result.files_loaded == 1
    assert result.conflicts == 0
    assert con.execute("SELECT count(*) FROM event_conflicts").fetchone()[0] == 1


def test_old_file_without_column_loads_as_null(con, decisions_dir):
    rows = normalize_events([event(1, approval_id="apr-1")])
    old_table = rows_to_table(rows).drop_columns(["approval_id", "redacted_fields"])
    old_path = decisions_dir / "event_date=2026-11-01" / "old.parquet"
    old_path.parent.mkdir(parents=True)
    pq.write_table(old_table, old_path)
    write_lake([event(2, approval_id="apr-2")], decisions_dir, file_name="new.parquet")

    result = load_lake(con, decisions_dir)

    assert result.rows_inserted == 2
    values = con.execute(
        "SELECT event_id, approval_id, redacted_fields FROM decision_events ORDER BY 1"
    ).fetchall()
    assert values == [("evt-0001", None, None), ("evt-0002", "apr-2", None)]


def test_batch_of_old_files_only_loads(con, decisions_dir):
    rows = normalize_events([event(1)])
    old_path = decisions_dir / "event_date=2026-11-01" / "old.parquet"
    old_path.parent.mkdir(parents=True)
    pq.write_table(rows_to_table(rows).drop_columns(["approval_id"]), old_path)

    result = load_lake(con, decisions_dir)

    assert result.rows_inserted == 1
    assert con.execute("SELECT approval_id FROM decision_events").fetchall() == [(None,)]


def test_unknown_field_is_kept_in_attributes(con, decisions_dir):
    write_lake([event(1, model_name="gpt-x", attributes={"region": "eu"})], decisions_dir)

    load_lake(con, decisions_dir)

    attributes = con.execute("SELECT attributes FROM decision_events").fetchone()[0]
    assert json.loads(attributes) == {"model_name": "gpt-x", "region": "eu"}


def test_column_outside_contract_merges_into_attributes(con, decisions_dir):
    table = rows_to_table(normalize_events([event(1, attributes={"region": "eu"})]))
    table = table.append_column("risk_score", pa.array([7]))
    path = decisions_dir / "event_date=2026-11-01" / "newer.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)

    load_lake(con, decisions_dir)

    attributes = con.execute("SELECT attributes FROM decision_events").fetchone()[0]
    assert json.loads(attributes) == {"region": "eu", "risk_score": 7}


def test_newer_schema_version_is_stored_as_sent(con, decisions_dir):
    write_lake([event(1), event(2, schema_version="2")], decisions_dir)

    load_lake(con, decisions_dir)

    versions = con.execute("SELECT schema_version FROM decision_events ORDER BY event_id")
    assert versions.fetchall() == [("1",), ("2",)]


def test_event_date_comes_from_partition(con, decisions_dir):
    write_lake([event(1), event(60 * 24)], decisions_dir)

    load_lake(con, decisions_dir)

    dates = con.execute("SELECT event_id, event_date FROM decision_events ORDER BY 1").fetchall()
    assert dates == [
        ("evt-0001", datetime(2026, 11, 1).date()),
        ("evt-1440", datetime(2026, 11, 2).date()),
    ]


def test_load_runs_records_counts(con, decisions_dir):
    write_lake([event(1), event(2)], decisions_dir, file_name="a.parquet")
    write_lake([event(2)], decisions_dir, file_name="b.parquet")

    load_lake(con, decisions_dir)

    run = con.execute(
        "SELECT load_id, files, rows_read, rows_inserted, duplicates_skipped, conflicts, "
        "finished_at >= started_at FROM load_runs"
    ).fetchall()
    assert run == [(1, 2, 3, 2, 1, 0, True)]


def test_failed_load_leaves_warehouse_unchanged(con, decisions_dir):
    write_lake([event(1)], decisions_dir, file_name="a.parquet")
    load_lake(con, decisions_dir)
    broken = decisions_dir / "event_date=2026-11-01" / "broken.parquet"
    broken.write_bytes(b"not a parquet file")

    with pytest.raises(duckdb.Error):
        load_lake(con, decisions_dir)

    assert con.execute("SELECT count(*) FROM load_runs").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM loaded_files").fetchone()[0] == 1
    assert stored_ids(con) == ["evt-0001"]


def test_older_warehouse_gains_new_contract_columns(con, decisions_dir):
    con.execute("ALTER TABLE decision_events DROP COLUMN approval_id")

    ensure_schema(con)
    write_lake([event(1, approval_id="apr-1")], decisions_dir)
    load_lake(con, decisions_dir)

    assert con.execute("SELECT approval_id FROM decision_events").fetchall() == [("apr-1",)]


def test_odd_column_name_merges_into_attributes(con, decisions_dir):
    table = rows_to_table(normalize_events([event(1)]))
    table = table.append_column('it\'s "odd"', pa.array(["x"]))
    path = decisions_dir / "event_date=2026-11-01" / "odd.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)

    load_lake(con, decisions_dir)

    attributes = con.execute("SELECT attributes FROM decision_events").fetchone()[0]
    assert json.loads(attributes) == {'it\'s "odd"': "x"}
