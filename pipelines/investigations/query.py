"""Small helpers that run one query and return rows as plain, JSON-ready values."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any

import duckdb


class NotFound(LookupError):
    """The agent, credential or alert id is not in the warehouse."""


def plain_value(value: Any) -> Any:
    """Convert one DuckDB value to JSON-ready Python: ISO-8601 UTC text for timestamps."""
    if isinstance(value, dt.datetime):
        # Milliseconds when the value has no finer digits, so common timestamps stay short.
        timespec = "auto" if value.microsecond % 1000 else "milliseconds"
        if value.microsecond == 0:
            timespec = "seconds"
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            return value.isoformat(timespec=timespec).replace("+00:00", "Z")
        return value.isoformat(timespec=timespec)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [plain_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain_value(item) for key, item in value.items()}
    return value


def fetch_dicts(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run `sql` and return each row as a dict of plain values keyed by column name."""
    cursor = con.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, map(plain_value, row), strict=True)) for row in cursor.fetchall()]


def fetch_value(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """Run `sql` and return the first column of the first row, or None with no rows."""
    row = con.execute(sql, params or []).fetchone()
    return None if row is None else plain_value(row[0])


def relation_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Return the names of the tables and views visible on `con`, temporary ones included."""
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {name for (name,) in rows}


def column_names(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    """Return the column names of one table or view, or an empty set when it does not exist."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [relation]
    ).fetchall()
    return {name for (name,) in rows}


def parse_json_text(value: Any) -> Any:
    """Decode a JSON text column (attributes, details); other values pass through."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
