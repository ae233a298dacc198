"""Read-only connections to the warehouse and to the Parquet lake.

DuckDB lets one process hold a database file for writing, and while it does, no other
process can open the file, not even read-only. The reverse is also true: an open reader
makes the writer's `duckdb.connect` fail. So readers here never take the writer's `flock`.
They retry the read-only open for a bounded time, because a Dagster job releases the file
between assets. They hold the file only for one command or one shell statement, and raise
`WarehouseBusy` with the way out when the writer keeps it. The lake mode opens an
in-memory database over the Parquet files and never touches the warehouse file.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipelines.warehouse import WarehouseBusy

log = logging.getLogger(__name__)

DEFAULT_WAIT_SECONDS = 30.0
RETRY_INTERVAL_SECONDS = 0.25

# View name -> (folder under the lake, hive partition key).
LAKE_VIEWS: dict[str, tuple[str, str]] = {
    "lake_decisions": ("decisions", "event_date"),
    "lake_quarantine": ("quarantine", "ingest_date"),
}

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>.+?\(PID \d+\))")


class WarehouseMissing(FileNotFoundError):
    """No warehouse file exists yet at the configured path."""


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return "Could not set lock" in str(exc)


def open_warehouse_reader(
    path: Path, *, wait_seconds: float = DEFAULT_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse at `path` read-only, retrying while a writer has the file open.

    Raises WarehouseMissing when the file does not exist and WarehouseBusy when a writer
    still has it open after `wait_seconds`.
    """
    if not path.exists():
        raise WarehouseMissing(
            f"no warehouse at {path}: build it with `agentaudit run` (or `agentaudit demo`), "
            "or use --lake to query the Parquet lake"
        )
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    attempts = 0
    while True:
        attempts += 1
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:
            if not _is_lock_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                match = _LOCK_HOLDER.search(str(exc))
                holder = match["holder"] if match else "another process"
                raise WarehouseBusy(
                    f"the warehouse {path} is held for writing by {holder} for over "
                    f"{wait_seconds:g} s; retry when the running job ends, pass a longer "
                    "--wait, or use --lake to read the Parquet lake directly"
                ) from None
            if attempts == 1:
                log.info("warehouse %s is held by a writer; retrying for %g s", path, wait_seconds)
            time.sleep(RETRY_INTERVAL_SECONDS)
            continue
        if attempts > 1:
            log.info("opened warehouse %s read-only after %d attempts", path, attempts)
        return con


def lake_view_sql(lake_dir: Path, view: str) -> str | None:
    """Return the CREATE TEMP VIEW statement for one lake view, or None with no files yet."""
    folder, key = LAKE_VIEWS[view]
    root = lake_dir / folder
    if not any(root.glob(f"{key}=*/*.parquet")):
        return None
    pattern = str(root / f"{key}=*" / "*.parquet").replace("'", "''")
    # Partition values stay text (no type autocast) and files of older schemas union by name.
    return (
        f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM read_parquet('{pattern}', "
        "hive_partitioning = true, hive_types_autocast = false, union_by_name = true)"
    )


def add_lake_views(con: duckdb.DuckDBPyConnection, lake_dir: Path) -> list[str]:
    """Create the temporary lake views that have files under `lake_dir`; return their names."""
    created = []
    for view in LAKE_VIEWS:
        statement = lake_view_sql(lake_dir, view)
        if statement is not None:
            con.execute(statement)
            created.append(view)
    return created


@contextlib.contextmanager
def reader(
    warehouse_path: Path,
    lake_dir: Path,
    *,
    lake_only: bool = False,
    lake_views: bool = True,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-only connection with the lake views added, and close it afterwards.

    With `lake_only`, the connection is an in-memory database with only the lake views, so
    it works while a writer has the warehouse open and before the first load. Creating a
    lake view reads the schema of every lake file, so callers that do not query the lake
    pass `lake_views=False`.
    """
    if lake_only:
        con = duckdb.connect(":memory:")
    else:
        con = open_warehouse_reader(warehouse_path, wait_seconds=wait_seconds)
    try:
        # Dates of TIMESTAMPTZ values (report days, hive partitions) are UTC days.
        con.execute("SET TimeZone = 'UTC'")
        if lake_views or lake_only:
            add_lake_views(con, lake_dir)
        yield con
    finally:
        con.close()
