"""A warehouse built once from the scenario fleet, with detections run, for read-only tests.

Tests that hold the writer lock or change files build their own warehouse instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from detections.runner import run_detections
from pipelines.cli.main import cli
from tests.helpers.lake import warehouse_from_events
from tests.investigate.scenario import fleet_events

AGENTAUDIT = Path(sys.executable).with_name("agentaudit")


def build_fleet_warehouse(data_dir: Path, *, detect: bool = True) -> Path:
    """Build data_dir/warehouse.duckdb from the scenario fleet and close it; return its path."""
    con = warehouse_from_events(fleet_events(), data_dir)
    try:
        if detect:
            run_detections(con, thresholds={}, suppressions=[], boundaries={})
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
