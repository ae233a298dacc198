"""Readers against a real writer process: bounded wait, lake fallback, no lock held when idle.

A second Python process opens the warehouse with `connect_writer` (the writer lock plus a
read-write DuckDB connection) and holds it until the test writes a line to its stdin.
Nothing here depends on timing: each step waits for a line that the other side prints.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.warehouse import connect_writer
from tests.investigate.conftest import AGENTAUDIT, build_fleet_warehouse, run_agentaudit

# A hung process fails the test instead of the whole run.
pytestmark = pytest.mark.timeout(300)

HOLD_WRITER = """
import sys
from pathlib import Path
from pipelines.warehouse import connect_writer
with connect_writer(Path(sys.argv[1])) as con:
    con.execute("CREATE OR REPLACE TABLE writer_marker AS SELECT 1 AS held")
    print("holding", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


@pytest.fixture
def own_warehouse(tmp_path: Path) -> Path:
    build_fleet_warehouse(tmp_path, detect=False)
    return tmp_path


@pytest.fixture
def writer_process(own_warehouse: Path):
    """Start a process that holds the warehouse for writing; yields it once it holds."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(own_warehouse / "warehouse.duckdb")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout.readline().strip() == "holding"
        yield process
    finally:
        if process.poll() is None:
            process.stdin.write("\n")
            process.stdin.flush()
            process.wait(timeout=60)


def release(process: subprocess.Popen) -> None:
    process.stdin.write("\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "released"
    assert process.wait(timeout=60) == 0


def test_busy_warehouse_fails_after_wait(own_warehouse, writer_process):
    result = run_agentaudit("sql", "--wait", "0", "SELECT 1", data_dir=own_warehouse)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "held for writing by" in result.stderr
    assert f"PID {writer_process.pid}" in result.stderr
    assert "--lake" in result.stderr


def test_busy_warehouse_investigate_fails_cleanly(own_warehouse, writer_process):
    result = run_agentaudit(
        "investigate", "agent", "agent-support-1", "--wait", "0", data_dir=own_warehouse
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: the warehouse")


def test_lake_mode_works_while_writer_holds(own_warehouse, writer_process):
    query = "SELECT count(*) AS events FROM lake_decisions"
    result = run_agentaudit("sql", "--lake", "--format", "json", query, data_dir=own_warehouse)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"events": 15}]


def test_reader_waits_for_writer_release(own_warehouse, writer_process):
    reader = subprocess.Popen(
        [str(AGENTAUDIT), "-v", "sql", "--wait", "600", "--format", "json",
         "SELECT held FROM writer_marker"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"AGENTAUDIT_DATA_DIR": str(own_warehouse), "PATH": str(AGENTAUDIT.parent)},
    )
    try:
        # The reader logs once when it finds the file held; release only after that.
        for line in reader.stderr:
            if "held by a writer; retrying" in line:
                break
        else:
            pytest.fail("the reader exited without reporting the held warehouse")
        release(writer_process)
        stdout, _ = reader.communicate(timeout=600)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0
    assert json.loads(stdout) == [{"held": 1}]


def test_idle_shell_does_not_block_writer(own_warehouse):
    shell = subprocess.Popen(
        [str(AGENTAUDIT), "sql", "--format", "csv"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"AGENTAUDIT_DATA_DIR": str(own_warehouse), "PATH": str(AGENTAUDIT.parent)},
    )
    try:
        shell.stdin.write("SELECT count(*) AS n FROM tasks;\n")
        shell.stdin.flush()
        assert shell.stdout.readline() == "n\n"
        assert shell.stdout.readline() == "3\n"
        # The shell is alive and idle between statements: a writer must get the file now.
        with connect_writer(own_warehouse / "warehouse.duckdb", timeout=0) as con:
            con.execute("CREATE TABLE written_while_shell_open AS SELECT 42 AS answer")
        shell.stdin.write("SELECT answer FROM written_while_shell_open;\n.quit\n")
        stdout, stderr = shell.communicate(timeout=120)
    finally:
        if shell.poll() is None:
            shell.kill()
    assert shell.returncode == 0, stderr
    assert stdout == "answer\n42\n"
