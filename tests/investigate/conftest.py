"""A warehouse built once from the scenario fleet, with detections run, for read-only tests.

Tests that hold the writer lock or change files build their own warehouse instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from detections.runner import run_detections
from pipelines.cli.main import cli
from tests.helpers.lake import warehouse_from_events, write_lake
from tests.investigate.scenario import DAY_ONE, DAY_TWO, fleet_events
from transforms.identity import build_identity_model
from transforms.load import load_lake

AGENTAUDIT = Path(sys.executable).with_name("agentaudit")
DETECTED_DAY_ONE = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
DETECTED_DAY_TWO = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
NO_CONFIG = {"thresholds": {}, "suppressions": [], "boundaries": {}}


def build_fleet_warehouse(data_dir: Path, *, detect: bool = True) -> Path:
    """Build data_dir/warehouse.duckdb from the scenario fleet in two daily loads; close it.

    Day one's events are loaded and detected at DETECTED_DAY_ONE, then day two's at
    DETECTED_DAY_TWO, so alerts have first_detected_at on two days. Returns the path.
    """
    events = fleet_events()
    day_one = [event for event in events if event["event_time"].date() == DAY_ONE.date()]
    day_two = [event for event in events if event["event_time"].date() == DAY_TWO.date()]
    con = warehouse_from_events(day_one, data_dir)
    try:
        if detect:
            run_detections(con, **NO_CONFIG, now=DETECTED_DAY_ONE)
        write_lake(day_two, data_dir / "lake" / "decisions", file_name="part-1.parquet")
        load_lake(con, data_dir / "lake" / "decisions")
        build_identity_model(con)
        if detect:
            run_detections(con, **NO_CONFIG, now=DETECTED_DAY_TWO)
    finally:
        con.close()
    return data_dir / "warehouse.duckdb"


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
