"""Timings of the warehouse steps against plain DuckDB statements over the same data.

Every timing runs in a DuckDB file of its own and ends with a CHECKPOINT, so the figures
include writing the table to disk, as a real load does.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from detections.runner import RunResult, run_detections
from transforms.identity import build_identity_model
from transforms.load import LoadResult, list_lake_files, load_lake

# One pass over every row of decision_events that touches the columns rules group on.
FULL_SCAN_SQL = """
SELECT agent_id,
       count(*) AS events,
       count(DISTINCT task_id) AS tasks,
       count(DISTINCT credential_id) AS credentials,
       count(DISTINCT principal_id) AS principals,
       count(DISTINCT tool) AS tools,
       min(event_time) AS first_event,
       max(event_time) AS last_event
FROM decision_events
GROUP BY agent_id
"""


def fresh_database(path: Path) -> duckdb.DuckDBPyConnection:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    return duckdb.connect(str(path))


def median_seconds(repeat: int, measure: Callable[[], float]) -> float:
    """Run `measure` `repeat` times and return the median of the seconds it returns."""
    return statistics.median(measure() for _ in range(max(1, repeat)))


def paired_median_seconds(
    repeat: int, first: Callable[[], float], second: Callable[[], float]
) -> tuple[float, float]:
    """Run `first` and `second` in turn `repeat` times; return the median seconds of each.

    Alternating the two spreads a change in the machine's load over both figures, where
    running one block after the other would put it into one of them.
    """
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(max(1, repeat)):
        times[0].append(first())
        times[1].append(second())
    return statistics.median(times[0]), statistics.median(times[1])


def time_plain_copy(decisions_dir: Path, database: Path) -> float:
    """Time `CREATE TABLE AS SELECT * FROM read_parquet(...)` of every lake file."""
    files = [lake_file.path for lake_file in list_lake_files(decisions_dir)]
    con = fresh_database(database)
    try:
        clock = time.perf_counter()
        con.execute("CREATE TABLE events AS SELECT * FROM read_parquet($files)", {"files": files})
        con.execute("CHECKPOINT")
        return time.perf_counter() - clock
    finally:
        con.close()


def time_load(
    decisions_dir: Path, database: Path, *, fresh: bool = True
) -> tuple[float, LoadResult]:
    """Time `load_lake` of `decisions_dir` into `database` (emptied first when `fresh`)."""
    con = fresh_database(database) if fresh else duckdb.connect(str(database))
    try:
        clock = time.perf_counter()
        result = load_lake(con, decisions_dir)
        con.execute("CHECKPOINT")
        return time.perf_counter() - clock, result
    finally:
        con.close()


def time_incremental_load(
    decisions_dir: Path, loaded: Path, scratch: Path
) -> tuple[float, LoadResult]:
    """Time `load_lake` of the files added since `loaded` was loaded, on a copy of it."""
    for suffix in ("", ".wal"):
        source = loaded.with_name(loaded.name + suffix)
        if source.exists():
            shutil.copyfile(source, scratch.with_name(scratch.name + suffix))
        else:
            scratch.with_name(scratch.name + suffix).unlink(missing_ok=True)
    return time_load(decisions_dir, scratch, fresh=False)


def time_full_scan(database: Path) -> float:
    """Time one aggregate scan of decision_events grouped by agent."""
    con = duckdb.connect(str(database))
    try:
        clock = time.perf_counter()
        con.execute(FULL_SCAN_SQL).fetchall()
        return time.perf_counter() - clock
    finally:
        con.close()


def time_identity_model(database: Path) -> tuple[float, dict[str, int]]:
    """Time `build_identity_model` on the warehouse, CHECKPOINT included."""
    con = duckdb.connect(str(database))
    try:
        clock = time.perf_counter()
        counts = build_identity_model(con)
        con.execute("CHECKPOINT")
        return time.perf_counter() - clock, counts
    finally:
        con.close()


def time_detections(database: Path, inputs: dict) -> tuple[float, RunResult]:
    """Time one run of every detection rule, `inputs` being run_detections' keyword arguments."""
    con = duckdb.connect(str(database))
    try:
        clock = time.perf_counter()
        result = run_detections(con, **inputs)
        con.execute("CHECKPOINT")
        return time.perf_counter() - clock, result
    finally:
        con.close()


def table_rows(database: Path, table: str) -> int:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


# Identifiers that tie events to one agent, task, run, principal or credential. A copy of
# the events with these suffixed behaves as a second fleet of the same shape.
COPY_SUFFIXED_COLUMNS = (
    "event_id",
    "parent_event_id",
    "agent_id",
    "run_id",
    "task_id",
    "principal_id",
    "credential_id",
    "approval_id",
)


def scale_warehouse(source: Path, target: Path, copies: int) -> int:
    """Write decision_events of `source` `copies` times into a new warehouse at `target`.

    Copy 0 keeps its ids; copy i appends `~i` to every column of COPY_SUFFIXED_COLUMNS,
    so the entity counts grow with the row count. Returns the rows written.
    """
    suffixed = ", ".join(
        f"CASE WHEN copy = 0 THEN {name} ELSE {name} || '~' || copy END AS {name}"
        for name in COPY_SUFFIXED_COLUMNS
    )
    con = fresh_database(target)
    try:
        con.execute("ATTACH $path AS source (READ_ONLY)", {"path": str(source)})
        con.execute(
            f"CREATE TABLE decision_events AS SELECT * EXCLUDE (copy) REPLACE ({suffixed}) "
            "FROM source.decision_events, range($copies) AS copies(copy) "
            "ORDER BY copy, event_time",
            {"copies": copies},
        )
        con.execute("DETACH source")
        con.execute("CHECKPOINT")
        return con.execute("SELECT count(*) FROM decision_events").fetchone()[0]
    finally:
        con.close()
