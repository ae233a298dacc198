"""Stable names for users and detections: the quarantine view over the lake, and a check
that every warehouse table and view a user may query exists."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from transforms.sql import read_sql

logger = logging.getLogger(__name__)

# Names users and detections query. alerts and deliveries are created by detections.
WAREHOUSE_NAMES = (
    "decision_events",
    "tasks",
    "credentials",
    "grants",
    "scope_usage",
    "access_map",
    "quarantine",
)
DETECTION_NAMES = ("alerts", "deliveries")


def _has_parquet(folder: Path) -> bool:
    return folder.is_dir() and any(folder.rglob("*.parquet"))


def create_views(con: duckdb.DuckDBPyConnection, lake_dir: Path) -> list[str]:
    """Create or replace the `quarantine` view over `lake_dir/quarantine/**/*.parquet`.

    While no quarantine file exists the view is empty with the columns below, so queries
    written against it work on a fresh install. Returns the names of WAREHOUSE_NAMES and
    DETECTION_NAMES that are missing from the database (empty when all exist).
    """
    quarantine_dir = Path(lake_dir) / "quarantine"
    if _has_parquet(quarantine_dir):
        pattern = (quarantine_dir.resolve() / "**" / "*.parquet").as_posix()
        con.execute(read_sql("create_quarantine_view").replace("$pattern", f"'{_quote(pattern)}'"))
    else:
        logger.info("no quarantine files under %s yet; quarantine view is empty", quarantine_dir)
        con.execute(read_sql("create_empty_quarantine_view"))
    present = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    missing = [name for name in WAREHOUSE_NAMES + DETECTION_NAMES if name not in present]
    if missing:
        logger.info("warehouse names not created yet: %s", ", ".join(missing))
    return missing


def _quote(text: str) -> str:
    return text.replace("'", "''")
