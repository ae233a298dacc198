"""The warehouse writer waits for a reader process instead of failing on DuckDB's lock."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb

from pipelines.warehouse import connect_writer

HOLD_READER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_writer_waits_for_reader_process(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_READER, str(path), "2"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().strip() == "open"
        started = time.monotonic()
        with connect_writer(path, timeout=60) as con:
            con.execute("CREATE TABLE written AS SELECT 1 AS x")
        waited = time.monotonic() - started
    finally:
        reader.wait(timeout=30)
    assert reader.returncode == 0
    assert waited > 0.5, "the writer opened the file while the reader still held it"
    check = duckdb.connect(str(path), read_only=True)
    assert check.execute("SELECT x FROM written").fetchone() == (1,)
    check.close()
