"""Compaction of lake partitions: no row lost or doubled, crash-safe halfway.

Files are written in the ingest worker's layout directly (no broker needed), with the
committed offsets recorded as the worker records them. Covers merging, exact-duplicate
removal, conflicting copies kept, uncommitted files left alone, and recovery of a
compaction interrupted before or after its output was committed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.lake.compaction import MANIFEST_DIR, compact_lake, recover
from pipelines.lake.durable import write_parquet_durably
from pipelines.lake.layout import COMPACTED_PREFIX, ingest_file_name
from pipelines.lake.offsets import record_committed_offset
from tests.kafka.events import make_event
from tests.kafka.lake import settings_for
from transforms.contract import normalize_event, rows_to_table

TOPIC = "agent.decisions"
DAY = "2026-03-01"
INGESTED_AT = datetime(2026, 3, 2, tzinfo=UTC)


def write_ingest_file(settings, partition: int, first: int, events: list[dict]) -> Path:
    """Write `events` as partition `partition` offsets first.. in the ingest worker's layout."""
    rows = []
    for offset, event in enumerate(events, start=first):
        row = normalize_event(event)
        row.update(
            source_topic=TOPIC,
            source_partition=partition,
            source_offset=offset,
            ingested_at=INGESTED_AT,
        )
        rows.append(row)
    name = ingest_file_name(TOPIC, partition, first, first + len(events) - 1)
    path = settings.decisions_dir / f"event_date={DAY}" / name
    return write_parquet_durably(rows_to_table(rows), path)


def lake_ids(settings) -> list[str]:
    files = [str(p) for p in sorted(settings.decisions_dir.glob("event_date=*/*.parquet"))]
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT event_id FROM read_parquet(?) ORDER BY event_id", [files]
        ).fetchall()
    return [row[0] for row in rows]


@pytest.fixture
def lake(tmp_path):
    """Three committed files of partition 0 (ids 0-29) and one committed file of partition 1."""
    settings = settings_for(tmp_path, TOPIC)
    for first in (0, 10, 20):
        events = [make_event(n, days=1) for n in range(first, first + 10)]
        write_ingest_file(settings, 0, first, events)
    write_ingest_file(settings, 1, 0, [make_event(n, days=1) for n in range(100, 105)])
    record_committed_offset(settings.lake_dir, TOPIC, 0, 30, "group")
    record_committed_offset(settings.lake_dir, TOPIC, 1, 5, "group")
    return settings


def test_compaction_merges_small_files(lake):
    before = lake_ids(lake)
    stats = compact_lake(lake)
    files = list(lake.decisions_dir.glob("event_date=*/*.parquet"))
    assert stats.files_in == 4
    assert stats.files_out == 1
    assert [path.name.startswith(COMPACTED_PREFIX) for path in files] == [True]
    assert lake_ids(lake) == before
    assert stats.rows_out == stats.rows_in == 35


def test_compaction_removes_exact_duplicates(lake):
    write_ingest_file(lake, 1, 5, [make_event(100, days=1), make_event(101, days=1)])
    record_committed_offset(lake.lake_dir, TOPIC, 1, 7, "group")
    stats = compact_lake(lake)
    ids = lake_ids(lake)
    assert stats.duplicates_removed == 2
    assert len(ids) == 35
    assert len(set(ids)) == 35


def test_compaction_keeps_conflicting_copies(lake):
    write_ingest_file(lake, 1, 5, [make_event(100, days=1, outcome="failure")])
    record_committed_offset(lake.lake_dir, TOPIC, 1, 6, "group")
    stats = compact_lake(lake)
    ids = lake_ids(lake)
    assert stats.duplicates_removed == 0
    assert ids.count(make_event(100)["event_id"]) == 2


def test_uncommitted_files_left_alone(lake):
    pending = write_ingest_file(lake, 0, 30, [make_event(n, days=1) for n in range(30, 40)])
    stats = compact_lake(lake)
    assert stats.files_in == 4
    assert pending.exists()
    assert len(lake_ids(lake)) == 45


def test_second_run_does_nothing(lake):
    compact_lake(lake)
    again = compact_lake(lake)
    assert again.files_in == 0
    assert again.partitions_compacted == 0


def _interrupted(lake, state: str) -> tuple[Path, list[Path]]:
    """Leave the lake as a compaction that stopped in `state` would: manifest and output."""
    inputs = sorted(lake.decisions_dir.glob("event_date=*/*.parquet"))
    output = inputs[0].parent / f"{COMPACTED_PREFIX}interrupted.parquet"
    if state == "committed":
        table = pa.concat_tables(pq.read_table(path) for path in inputs)
        write_parquet_durably(table, output)
    else:
        output.write_bytes(b"PAR1 partial")  # a half-written output
    manifest = lake.lake_dir / MANIFEST_DIR / f"event_date={DAY}+interrupted.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(
        json.dumps({"output": str(output), "inputs": [str(p) for p in inputs], "state": state})
    )
    return output, inputs


def test_recovery_rolls_back_unfinished_output(lake):
    before = lake_ids(lake)
    output, inputs = _interrupted(lake, "writing")
    actions = recover(lake)
    assert len(actions) == 1
    assert not output.exists()
    assert all(path.exists() for path in inputs)
    assert lake_ids(lake) == before


def test_recovery_rolls_forward_committed_output(lake):
    before = lake_ids(lake)
    output, inputs = _interrupted(lake, "committed")
    inputs[0].unlink()  # the crash came after the first input was deleted
    actions = recover(lake)
    assert len(actions) == 1
    assert output.exists()
    assert not any(path.exists() for path in inputs)
    assert lake_ids(lake) == before
    assert not list((lake.lake_dir / MANIFEST_DIR).glob("*.json"))


def test_compact_command_json(lake, monkeypatch):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(lake.data_dir))
    monkeypatch.setenv("AGENTAUDIT_CONFIG", str(lake.config_path))
    result = CliRunner().invoke(cli, ["compact", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["files_in"] == 4
    assert stats["rows_out"] == 35
