"""Great Expectations checks on a loaded batch: pass on clean data, fail and name the ids.

Bad batches are written straight to Parquet (bypassing contract validation), as a faulty
writer or an older release could leave them in the lake.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.helpers.lake import normalize_events, write_lake
from transforms.contract import rows_to_table
from transforms.identity import build_identity_model
from transforms.load import ensure_schema, load_lake
from transforms.quality import CHECK_SPECS, blocking_failures, run_batch_checks

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 2, tzinfo=UTC)


def event(n: int, **fields) -> dict:
    base = {
        "event_id": f"evt-{n:03d}",
        "schema_version": "1",
        "event_time": T0 + timedelta(minutes=n),
        "event_type": "tool_invoked",
        "agent_id": "support_bot-01",
        "task_id": "task-1",
        "principal_id": "sa:support_bot-01",
        "principal_type": "service_account",
    }
    base.update(fields)
    return base


def write_unchecked(rows: list[dict], decisions_dir, name: str) -> None:
    """Write rows as they are, without the contract's validation."""
    path = decisions_dir / "event_date=2026-11-01" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(rows_to_table(rows), path)


@pytest.fixture
def warehouse(tmp_path):
    decisions_dir = tmp_path / "lake" / "decisions"
    decisions_dir.mkdir(parents=True)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_schema(con)
    yield con, decisions_dir
    con.close()


def load_and_check(con, decisions_dir):
    load_lake(con, decisions_dir)
    build_identity_model(con)
    return {outcome.name: outcome for outcome in run_batch_checks(con, now=NOW)}


def test_clean_batch_passes_every_check(warehouse):
    con, decisions_dir = warehouse
    write_lake(
        [
            event(1, event_type="task_started"),
            event(
                2,
                credential_id="c1",
                credential_issued_at=T0,
                credential_expires_at=T0 + timedelta(hours=1),
            ),
            event(3, event_type="task_completed"),
        ],
        decisions_dir,
        now=NOW,
    )

    outcomes = load_and_check(con, decisions_dir)

    assert list(outcomes) == [spec.name for spec in CHECK_SPECS]
    assert [name for name, outcome in outcomes.items() if not outcome.passed] == []
    assert outcomes["event_id_unique"].checked_count == 3
    assert outcomes["task_end_after_start"].checked_count == 1


def test_invalid_enum_fails_and_names_event(warehouse):
    con, decisions_dir = warehouse
    rows = normalize_events([event(1), event(2), event(3)], now=NOW)
    rows[1]["event_type"] = "tool_exploded"
    rows[2]["outcome"] = "maybe"
    write_unchecked(rows, decisions_dir, "bad.parquet")

    outcome = load_and_check(con, decisions_dir)["enum_values_valid"]

    assert outcome.blocking
    assert not outcome.passed
    assert outcome.failing_count == 2
    assert set(outcome.failing_event_ids) == {"evt-002", "evt-003"}
    assert outcome.details["failing_by_column"]["event_type"] == 1
    assert outcome.details["failing_by_column"]["outcome"] == 1


def test_event_time_out_of_range_fails(warehouse):
    con, decisions_dir = warehouse
    rows = normalize_events([event(1), event(2)], now=NOW)
    rows[0]["event_time"] = datetime(1999, 12, 31, tzinfo=UTC)
    rows[1]["event_time"] = NOW + timedelta(days=3)
    write_unchecked(rows, decisions_dir, "bad.parquet")

    outcome = load_and_check(con, decisions_dir)["event_time_in_range"]

    assert not outcome.passed
    assert sorted(outcome.failing_event_ids) == ["evt-001", "evt-002"]


def test_expiry_before_issue_fails(warehouse):
    con, decisions_dir = warehouse
    write_lake(
        [
            event(
                1,
                credential_id="c1",
                credential_issued_at=T0,
                credential_expires_at=T0 - timedelta(minutes=5),
            ),
            event(2, credential_id="c2", credential_issued_at=T0),
        ],
        decisions_dir,
        now=NOW,
    )

    outcome = load_and_check(con, decisions_dir)["credential_expiry_after_issue"]

    assert not outcome.passed
    assert outcome.failing_event_ids == ("evt-001",)


def test_task_ending_before_start_fails(warehouse):
    con, decisions_dir = warehouse
    write_lake(
        [
            event(10, event_type="task_started", task_id="task-late"),
            event(5, event_type="task_completed", task_id="task-late"),
            event(20, event_type="task_started", task_id="task-ok"),
        ],
        decisions_dir,
        now=NOW,
    )

    outcomes = load_and_check(con, decisions_dir)
    outcome = outcomes["task_end_after_start"]

    assert not outcome.passed
    assert outcome.failing_task_ids == ("task-late",)
    assert [o.name for o in blocking_failures(outcomes.values())] == ["task_end_after_start"]


def test_checks_cover_only_latest_load(warehouse):
    con, decisions_dir = warehouse
    rows = normalize_events([event(1)], now=NOW)
    rows[0]["action"] = "teleport"
    write_unchecked(rows, decisions_dir, "old.parquet")
    load_lake(con, decisions_dir)
    write_lake([event(2)], decisions_dir, file_name="new.parquet", now=NOW)

    outcomes = load_and_check(con, decisions_dir)

    assert outcomes["enum_values_valid"].passed
    assert outcomes["enum_values_valid"].load_id == 2
    assert outcomes["enum_values_valid"].checked_count == 1


def test_warnings_do_not_block(warehouse):
    con, decisions_dir = warehouse
    write_lake(
        [event(1, principal_id=None), event(2, schema_version="2"), event(3)],
        decisions_dir,
        now=NOW,
    )

    outcomes = load_and_check(con, decisions_dir)

    principal = outcomes["principal_present_on_tool_events"]
    version = outcomes["schema_version_known"]
    assert not principal.passed
    assert not principal.blocking
    assert principal.failing_event_ids == ("evt-001",)
    assert not version.passed
    assert version.failing_event_ids == ("evt-002",)
    assert blocking_failures(outcomes.values()) == []


def test_principal_threshold_allows_small_share(warehouse):
    con, decisions_dir = warehouse
    events = [event(n) for n in range(1, 21)] + [event(21, principal_id=None)]
    write_lake(events, decisions_dir, now=NOW)
    load_lake(con, decisions_dir)
    build_identity_model(con)

    outcomes = run_batch_checks(con, now=NOW, max_principal_null_share=0.1)

    principal = next(o for o in outcomes if o.name == "principal_present_on_tool_events")
    assert principal.passed
    assert principal.failing_count == 1
