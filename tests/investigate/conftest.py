"""A warehouse built once from the scenario fleet, with detections run, for read-only tests.

Tests that hold the writer lock or change files build their own warehouse instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from detections.runner import run_detections
from pipelines.cli.main import cli
from pipelines.kafka.quarantine_schema import QUARANTINE_SCHEMA, quarantine_row
from tests.helpers.lake import warehouse_from_events, write_lake
from tests.investigate.scenario import DAY_ONE, DAY_TWO, fleet_events
from transforms.identity import build_identity_model
from transforms.load import load_lake

AGENTAUDIT = Path(sys.executable).with_name("agentaudit")
DETECTED_DAY_ONE = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
DETECTED_DAY_TWO = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
NO_CONFIG = {"thresholds": {}, "suppressions": [], "boundaries": {}}


def build_fleet_warehouse(
    data_dir: Path, *, detect: bool = True, suppressions: list[dict] | None = None
) -> Path:
    """Build data_dir/warehouse.duckdb from the scenario fleet in two daily loads; close it.

    Day one's events are loaded and detected at DETECTED_DAY_ONE, then day two's at
    DETECTED_DAY_TWO, so alerts have first_detected_at on two days. Returns the path.
    """
    config = {**NO_CONFIG, "suppressions": suppressions or []}
    events = fleet_events()
    day_one = [event for event in events if event["event_time"].date() == DAY_ONE.date()]
    day_two = [event for event in events if event["event_time"].date() == DAY_TWO.date()]
    con = warehouse_from_events(day_one, data_dir)
    try:
        if detect:
            run_detections(con, **config, now=DETECTED_DAY_ONE)
        write_lake(day_two, data_dir / "lake" / "decisions", file_name="part-1.parquet")
        load_lake(con, data_dir / "lake" / "decisions")
        build_identity_model(con)
        if detect:
            run_detections(con, **config, now=DETECTED_DAY_TWO)
    finally:
        con.close()
    write_quarantine(data_dir / "lake" / "quarantine")
    return data_dir / "warehouse.duckdb"


# (ingest day, reason, how many records): 3 quarantined on day two, 1 on day one.
QUARANTINED = (
    ("2026-03-09", "invalid JSON: Expecting value at line 1 column 1", 1),
    ("2026-03-10", "invalid JSON: Expecting value at line 1 column 1", 2),
    ("2026-03-10", "missing required field agent_id", 1),
)


def write_quarantine(quarantine_dir: Path) -> None:
    """Write the QUARANTINED records as the ingest worker would, one file per ingest day."""
    by_day: dict[str, list[dict]] = {}
    offset = 0
    for day, reason, count in QUARANTINED:
        for _ in range(count):
            by_day.setdefault(day, []).append(quarantine_row(
                value=b"not json", key=None, reason=reason, field=None, topic="agent.decisions",
                partition=0, offset=offset, timestamp_ms=None,
                quarantined_at=datetime.fromisoformat(f"{day}T10:00:00+00:00"),
            ))
            offset += 1
    for day, rows in by_day.items():
        path = quarantine_dir / f"ingest_date={day}" / "agent.decisions+0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA), path)


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory) -> Path:
    """A data directory with the scenario fleet loaded and detections run; do not write it."""
    data_dir = tmp_path_factory.mktemp("fleet")
    build_fleet_warehouse(data_dir)
    return data_dir


@pytest.fixture
def invoke(fleet_dir: Path):
    """Run the CLI in-process against the fleet data directory; returns click's Result."""
    runner = CliRunner()

    def run(*args: str, data_dir: Path | None = None, stdin: str | None = None):
        env = {"AGENTAUDIT_DATA_DIR": str(data_dir or fleet_dir)}
        return runner.invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)

    return run


def run_agentaudit(*args: str, data_dir: Path, stdin: str | None = None, timeout: float = 120):
    """Run the installed `agentaudit` script as a separate process, as a shell script would."""
    env = {**os.environ, "AGENTAUDIT_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [str(AGENTAUDIT), *args], input=stdin, capture_output=True, text=True, env=env,
        timeout=timeout,
    )
