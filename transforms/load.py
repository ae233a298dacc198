"""Incremental load of the Parquet lake into the DuckDB table decision_events.

Each call reads only the lake files that are new or changed since the last load (by path,
size and modification time, kept in `loaded_files`). Within those files the first copy of
each `event_id` wins, and ids already stored are skipped. A skipped copy whose content
differs from the stored copy is recorded in `event_conflicts`. One call is one transaction
and one row of `load_runs`, so a failed load leaves the warehouse as it was.

Older files that lack a column load beside newer ones: the column is null for their rows.
Columns that a newer writer added outside the contract are merged into `attributes`, so
nothing in the lake is dropped.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from transforms.contract import EVENT_SCHEMA, FIELDS
from transforms.sql import read_sql

logger = logging.getLogger(__name__)

# Partition values are read as text and cast explicitly, so a partition value that looks
# like a number or a date never changes the column type from one load to the next.
READ_OPTIONS = (
    "hive_partitioning = true, union_by_name = true, hive_types_autocast = false, filename = true"
)
# The columns that make up an event's content. Lineage (where and when a copy was read) is
# left out, so a replayed copy of the same event counts as identical.
CONTENT_COLUMNS = tuple(field.name for field in FIELDS) + ("redacted_fields",)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LoadResult:
    """Counts of one `load_lake` call.

    `duplicates_skipped` counts copies not inserted because their event id was already
    stored or appeared earlier in the same load. `conflicts` counts the subset of those
    whose content differed. `load_id` is None when there was nothing new to load.
    """

    files_loaded: int
    rows_read: int
    rows_inserted: int
    duplicates_skipped: int
    conflicts: int
    load_id: int | None


@dataclass(frozen=True)
class LakeFile:
    """One Parquet file of the lake with the stat values that tell whether it changed."""

    path: str
    size: int
    mtime: datetime


def duckdb_type(arrow_type: pa.DataType) -> str:
    """Return the DuckDB column type that stores values of an `EVENT_SCHEMA` Arrow type."""
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_list(arrow_type):
        return f"{duckdb_type(arrow_type.value_type)}[]"
    simple = {
        pa.string(): "VARCHAR",
        pa.int64(): "BIGINT",
        pa.int32(): "INTEGER",
        pa.bool_(): "BOOLEAN",
        pa.float64(): "DOUBLE",
    }
    if arrow_type not in simple:
        raise TypeError(f"no DuckDB type mapped for Arrow type {arrow_type}; add it to duckdb_type")
    return simple[arrow_type]


def _event_column_ddl() -> str:
    columns = []
    for field in EVENT_SCHEMA:
        constraint = "" if field.nullable else " NOT NULL"
        columns.append(f"{field.name} {duckdb_type(field.type)}{constraint}")
    return ",\n    ".join(columns)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create decision_events and the loader's tables when they do not exist yet.

    A warehouse created by an older release gains the contract columns added since, as
    null columns, so its existing rows stay as they were.
    """
    con.execute(read_sql("create_decision_events").format(event_columns=_event_column_ddl()))
    con.execute(read_sql("create_load_tables"))
    present = {row[0] for row in con.execute("DESCRIBE decision_events").fetchall()}
    for field in EVENT_SCHEMA:
        if field.name not in present:
            logger.info("adding column %s to decision_events", field.name)
            con.execute(
                f"ALTER TABLE decision_events ADD COLUMN {field.name} {duckdb_type(field.type)}"
            )


def list_lake_files(decisions_dir: Path) -> list[LakeFile]:
    """Return every `*.parquet` file under `decisions_dir`, sorted by path.

    Names starting with `.` or `_` are skipped: writers use them for files in progress. The
    folder is resolved once, so each path is absolute without a per-file resolve. A file
    removed between listing and stat (compaction, or a crashed flush cleaned up) is skipped.
    """
    found = []
    for root, dirs, names in os.walk(Path(decisions_dir).resolve()):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in names:
            if not name.endswith(".parquet") or name.startswith((".", "_")):
                continue
            path = Path(root, name)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            mtime = _EPOCH + timedelta(microseconds=stat.st_mtime_ns // 1000)
            found.append(LakeFile(path.as_posix(), stat.st_size, mtime))
    return sorted(found, key=lambda lake_file: lake_file.path)


def new_or_changed_files(
    con: duckdb.DuckDBPyConnection, lake_files: list[LakeFile]
) -> list[LakeFile]:
    """Return the files that `loaded_files` does not list with the same size and mtime."""
    known = {
        path: (size, mtime)
        for path, size, mtime in con.execute(
            "SELECT path, size, mtime FROM loaded_files"
        ).fetchall()
    }
    return [f for f in lake_files if known.get(f.path) != (f.size, f.mtime)]


def _batch_columns(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, str]:
    """Return the column names and types of the union of `paths`, read from their footers."""
    described = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet($files, {READ_OPTIONS})", {"files": paths}
    ).fetchall()
    return {row[0]: row[1] for row in described}


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


def _sql_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_projection(batch_columns: dict[str, str], load_id: int) -> str:
    """Return the SELECT list that maps the columns of a batch onto decision_events.

    Contract columns missing from every file of the batch become typed nulls. Columns
    outside the contract are merged into `attributes` as JSON members.
    """
    known = set(EVENT_SCHEMA.names) | {"event_date", "filename"}
    extra = sorted(name for name in batch_columns if name not in known)
    items = []
    for field in EVENT_SCHEMA:
        column_type = duckdb_type(field.type)
        if field.name == "attributes" and extra:
            members = ", ".join(f"'{_sql_text(name)}', {_sql_identifier(name)}" for name in extra)
            base = "attributes" if "attributes" in batch_columns else "NULL"
            merged = f"json_merge_patch(coalesce({base}, '{{}}'), json_object({members}))"
            items.append(f"nullif(CAST({merged} AS VARCHAR), '{{}}') AS attributes")
        elif field.name in batch_columns:
            items.append(f"CAST({field.name} AS {column_type}) AS {field.name}")
        else:
            items.append(f"CAST(NULL AS {column_type}) AS {field.name}")
    if "event_date" in batch_columns:
        items.append("TRY_CAST(event_date AS DATE) AS event_date")
    else:
        items.append("CAST(timezone('UTC', event_time) AS DATE) AS event_date")
    items.append("filename AS lake_file")
    items.append(f"CAST({int(load_id)} AS BIGINT) AS load_id")
    return ",\n        ".join(items)


def _file_rows(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, int]:
    rows = con.execute(
        "SELECT file_name, num_rows FROM parquet_file_metadata($files)", {"files": paths}
    ).fetchall()
    return {name: count for name, count in rows}


def _record_files(
    con: duckdb.DuckDBPyConnection, files: list[LakeFile], rows: dict[str, int], load_id: int
) -> None:
    # One statement over an Arrow table: executemany runs one INSERT per file, about 2 ms
    # each in DuckDB 2.0.1, which is over a second for a load of 500 files.
    batch = pa.table(
        {
            "path": pa.array([f.path for f in files], pa.string()),
            "size": pa.array([f.size for f in files], pa.int64()),
            "mtime": pa.array([f.mtime for f in files], pa.timestamp("us", tz="UTC")),
            "rows": pa.array([rows.get(f.path, 0) for f in files], pa.int64()),
            "load_id": pa.array([load_id] * len(files), pa.int64()),
        }
    )
    con.register("_loaded_files_batch", batch)
    try:
        con.execute("INSERT OR REPLACE INTO loaded_files BY NAME SELECT * FROM _loaded_files_batch")
    finally:
        con.unregister("_loaded_files_batch")


def _insert_rows(
    con: duckdb.DuckDBPyConnection, paths: list[str], batch_columns: dict[str, str], load_id: int
) -> int:
    """Insert the first copy of each new event id and return the number of rows inserted.

    Repeats within the batch are found on a narrow scan (event_id and position only), so
    the wide insert does not have to sort whole rows.
    """
    copy_order = "filename, file_row_number"
    if "ingested_at" in batch_columns:
        copy_order = "ingested_at NULLS LAST, " + copy_order
    con.execute(
        read_sql("find_batch_duplicates").format(read_options=READ_OPTIONS, copy_order=copy_order),
        {"files": paths},
    )
    sql = read_sql("insert_decision_events").format(
        projection=build_projection(batch_columns, load_id), read_options=READ_OPTIONS
    )
    inserted = con.execute(sql, {"files": paths}).fetchone()[0]
    con.execute("DROP TABLE batch_duplicates")
    return inserted


def _insert_conflicts(
    con: duckdb.DuckDBPyConnection, paths: list[str], batch_columns: dict[str, str], load_id: int
) -> int:
    sql = read_sql("insert_event_conflicts").format(
        projection=build_projection(batch_columns, load_id),
        read_options=READ_OPTIONS,
        content_columns=", ".join(CONTENT_COLUMNS),
    )
    return con.execute(sql, {"files": paths, "load_id": load_id}).fetchone()[0]


def load_lake(con: duckdb.DuckDBPyConnection, decisions_dir: Path) -> LoadResult:
    """Load the new and changed Parquet files under `decisions_dir` into decision_events.

    Creates the tables first when needed. Runs in one transaction: on an error nothing of
    this load is kept and the error propagates.
    """
    ensure_schema(con)
    decisions_dir = Path(decisions_dir)
    if not decisions_dir.is_dir():
        logger.warning("lake folder %s does not exist; nothing to load", decisions_dir)
        return LoadResult(0, 0, 0, 0, 0, None)
    files = new_or_changed_files(con, list_lake_files(decisions_dir))
    if not files:
        logger.info("no new or changed files under %s; nothing to load", decisions_dir)
        return LoadResult(0, 0, 0, 0, 0, None)

    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    paths = [f.path for f in files]
    con.begin()
    try:
        load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_runs").fetchone()[0]
        batch_columns = _batch_columns(con, paths)
        file_rows = _file_rows(con, paths)
        rows_read = sum(file_rows.values())
        inserted = _insert_rows(con, paths, batch_columns, load_id)
        conflicts = 0
        if inserted < rows_read:
            conflicts = _insert_conflicts(con, paths, batch_columns, load_id)
        _record_files(con, files, file_rows, load_id)
        con.execute(
            "INSERT INTO load_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                load_id,
                started_at,
                datetime.now(UTC),
                len(files),
                rows_read,
                inserted,
                rows_read - inserted,
                conflicts,
            ],
        )
        con.commit()
    except BaseException as exc:
        con.rollback()
        logger.error(
            "load of %d files under %s failed and was rolled back: %s. Files: %s. Fix or move "
            "the file named in the error, then run the load again.",
            len(paths),
            decisions_dir,
            exc,
            ", ".join(paths[:20]),
        )
        raise
    result = LoadResult(len(files), rows_read, inserted, rows_read - inserted, conflicts, load_id)
    logger.info(
        "load %s: %d files, %d rows read, %d inserted, %d duplicates skipped, %d conflicts "
        "in %.2f s",
        load_id,
        result.files_loaded,
        result.rows_read,
        result.rows_inserted,
        result.duplicates_skipped,
        result.conflicts,
        time.perf_counter() - clock,
    )
    if conflicts:
        logger.warning(
            "load %s: %d copies differ from the stored event with the same event_id; "
            "see event_conflicts",
            load_id,
            conflicts,
        )
    return result
