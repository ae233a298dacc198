"""Read back what the ingest worker wrote, for assertions in Kafka and lake tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import duckdb

from pipelines.settings import Settings, load_settings


def settings_for(
    data_dir: Path, topic: str, *, group: str | None = None, **ingest: Any
) -> Settings:
    """Return settings whose data directory, topic and consumer group belong to one test."""
    settings = load_settings(
        kafka={"topic": topic, "consumer_group": group or f"group-{topic}"}, ingest=ingest
    )
    return dataclasses.replace(settings, data_dir=Path(data_dir))


def lake_rows(settings: Settings, columns: str = "*") -> list[dict[str, Any]]:
    """Return every row in the decisions lake, with event_date from the folder name."""
    files = sorted(settings.decisions_dir.glob("event_date=*/*.parquet"))
    if not files:
        return []
    paths = ", ".join(f"'{path}'" for path in files)
    relation = duckdb.sql(
        f"SELECT {columns} FROM read_parquet([{paths}], hive_partitioning = true, "
        "hive_types_autocast = false, union_by_name = true, filename = true) "
        "ORDER BY source_partition, source_offset"
    )
    names = relation.columns
    return [dict(zip(names, values, strict=True)) for values in relation.fetchall()]


def event_id_counts(settings: Settings) -> dict[str, int]:
    """Return how many lake rows hold each event_id."""
    files = sorted(settings.decisions_dir.glob("event_date=*/*.parquet"))
    if not files:
        return {}
    paths = ", ".join(f"'{path}'" for path in files)
    rows = duckdb.sql(
        f"SELECT event_id, count(*) FROM read_parquet([{paths}], hive_partitioning = false, "
        "union_by_name = true) GROUP BY event_id"
    ).fetchall()
    return dict(rows)


def quarantine_rows(settings: Settings) -> list[dict[str, Any]]:
    """Return every quarantined row, ordered by partition and offset."""
    from pipelines.kafka.quarantine import read_quarantine

    return read_quarantine(settings)
