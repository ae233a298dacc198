"""Durable file writes: temporary file, fsync, atomic rename, fsync of the directory.

A reader either sees a complete file under its final name or no file at all, and once
`sync_directories` returns, the rename survives a power loss as well as a crash.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# One row group per file up to this many rows: DuckDB scans large row groups faster.
ROW_GROUP_ROWS = 1_048_576
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"


def temp_path_for(path: Path) -> Path:
    """Return the hidden temporary name used while `path` is written (no *.parquet glob sees it)."""
    return path.with_name(f"{TEMP_PREFIX}{path.name}{TEMP_SUFFIX}")


def write_parquet_durably(table: pa.Table, path: Path) -> Path:
    """Write `table` to `path` with zstd through a fsynced temporary file and an atomic rename.

    The parent directory is created when missing but not fsynced here: call
    `sync_directories` once for all files of a flush before treating them as durable.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(path)
    with open(temp, "wb") as handle:
        pq.write_table(
            table, handle, compression="zstd", row_group_size=ROW_GROUP_ROWS, write_statistics=True
        )
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    return path


def sync_directories(directories: Iterable[Path]) -> None:
    """Fsync each directory, and its parent, so that new entries and renames are durable."""
    seen: set[Path] = set()
    for directory in directories:
        for target in (directory, directory.parent):
            if target in seen:
                continue
            seen.add(target)
            fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def write_text_durably(path: Path, text: str) -> None:
    """Replace `path` with `text` through a fsynced temporary file, then fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(path)
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    sync_directories([path.parent])


def remove_durably(paths: Iterable[Path]) -> int:
    """Delete the files that exist among `paths`, fsync their directories; return how many."""
    removed = 0
    directories = set()
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
        directories.add(path.parent)
    if directories:
        sync_directories(directories)
    return removed
