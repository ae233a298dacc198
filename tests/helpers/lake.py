"""Build a Parquet lake and a loaded DuckDB warehouse from contract events, for tests.

Rule fixtures and transform tests describe their input as plain event dictionaries (the
JSON objects an agent would send). `write_lake` validates them with the contract and writes
them in the lake layout; `warehouse_from_events` also loads them and builds every table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from transforms.contract import event_date, normalize_event, rows_to_table
from transforms.identity import build_identity_model
from transforms.load import ensure_schema, load_lake
from transforms.views import create_views

TOPIC = "agent.decisions"
# A fixed ingest time keeps tables built from the same events identical between runs.
INGESTED_AT = datetime(2030, 1, 1, tzinfo=UTC)


def _json_ready(value: Any) -> Any:
    """Turn datetimes into ISO-8601 text, as they would arrive in a JSON message."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in a test event: give it a time zone")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def normalize_events(
    events: Iterable[dict[str, Any]], *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Validate raw events with the contract and fill the lineage columns.

    `source_offset` is the event's position in `events`, so a test can tell copies apart.
    Raises `transforms.contract.InvalidEvent` for an event that breaks the contract.
    """
    rows = []
    for offset, raw in enumerate(events):
        row = normalize_event({key: _json_ready(value) for key, value in raw.items()}, now=now)
        row["source_topic"] = TOPIC
        row["source_partition"] = 0
        row["source_offset"] = offset
        row["ingested_at"] = INGESTED_AT
        rows.append(row)
    return rows


def write_lake(
    events: Iterable[dict[str, Any]],
    decisions_dir: Path,
    *,
    file_name: str = "part-0.parquet",
    now: datetime | None = None,
) -> list[Path]:
    """Write raw events as `decisions_dir/event_date=YYYY-MM-DD/<file_name>`, one file a day.

    Timestamps may be ISO-8601 text, epoch milliseconds or aware datetimes. Returns the
    files written, sorted. An existing file of the same name is replaced.
    """
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in normalize_events(events, now=now):
        by_day[event_date(row)].append(row)
    written = []
    for day, rows in sorted(by_day.items()):
        path = Path(decisions_dir) / f"event_date={day}" / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows_to_table(rows), path, compression="zstd")
        written.append(path)
    return written


def warehouse_from_events(
    events: Iterable[dict[str, Any]],
    tmp_path: Path,
    *,
    now: datetime | None = None,
) -> duckdb.DuckDBPyConnection:
    """Write `events` to a lake under `tmp_path`, load it and build every transform table.

    Returns an open read-write connection to `tmp_path/warehouse.duckdb` holding
    decision_events, tasks, credentials, grants, scope_usage, access_map and the views.
    """
    lake_dir = Path(tmp_path) / "lake"
    decisions_dir = lake_dir / "decisions"
    decisions_dir.mkdir(parents=True, exist_ok=True)
    write_lake(events, decisions_dir, now=now)
    con = duckdb.connect(str(Path(tmp_path) / "warehouse.duckdb"))
    ensure_schema(con)
    load_lake(con, decisions_dir)
    build_identity_model(con)
    create_views(con, lake_dir)
    return con
