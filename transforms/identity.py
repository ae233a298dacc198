"""The identity model: tasks, credentials, grants and scope usage derived from decision_events.

Every table is rebuilt in full from decision_events on each call, so events that arrive
late or out of order land where their event_time puts them. Facts are ordered by
event_time (ties by event_id), never by load order.
"""

from __future__ import annotations

import logging
import time

import duckdb

from transforms.sql import read_sql

logger = logging.getLogger(__name__)

# Build order: access_map reads grants and credentials, so it comes last.
IDENTITY_STEPS: tuple[tuple[str, str], ...] = (
    ("tasks", "build_tasks"),
    ("credentials", "build_credentials"),
    ("grants", "build_grants"),
    ("scope_usage", "build_scope_usage"),
    ("access_map", "create_access_map"),
)
IDENTITY_TABLES = tuple(name for name, _ in IDENTITY_STEPS)


def build_identity_model(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Create or replace tasks, credentials, grants, scope_usage and the access_map view.

    Runs in one transaction, so readers see either the old model or the new one. Returns
    the row count of each table and view by name.
    """
    counts: dict[str, int] = {}
    con.begin()
    try:
        for name, sql_name in IDENTITY_STEPS:
            clock = time.perf_counter()
            con.execute(read_sql(sql_name))
            counts[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            logger.info(
                "built %s: %d rows in %.2f s", name, counts[name], time.perf_counter() - clock
            )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    if counts["tasks"] == 0:
        logger.warning(
            "identity model has no tasks because no row of decision_events has a task_id"
        )
    return counts
