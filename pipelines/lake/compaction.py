"""Compaction: merge the small files of one event_date partition into one larger file.

Steps for one partition, each durable before the next:
  1. write a manifest `_state/compaction/<date>+<digest>.json` naming the inputs and the
     output, in state "writing",
  2. write the output `compacted+<digest>.parquet` (temporary file, fsync, rename),
  3. set the manifest state to "committed",
  4. delete the inputs, then the manifest.
A run that finds a manifest first finishes the interrupted one: "writing" rolls back (the
output is deleted, the inputs stay), "committed" rolls forward (the remaining inputs are
deleted). Readers between steps 2 and 4 can see a row in two files; the warehouse
deduplicates by event_id.

Rows are deduplicated by event_id when every contract column matches too, keeping the copy
read first (lowest ingested_at, then topic, partition, offset). Copies of one event_id
with different content are all kept, so the loader can record the conflict.

Only files whose records are committed take part: ingest files whose last offset is below
the offset recorded after the Kafka commit, completed quarantine replays and earlier
compacted files. An uncommitted ingest file can still be deleted and rewritten by the
ingest worker, so it is left alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines.kafka.quarantine import completed_replay_ids
from pipelines.lake.durable import (
    remove_durably,
    sync_directories,
    write_parquet_durably,
    write_text_durably,
)
from pipelines.lake.layout import COMPACTED_PREFIX, REPLAY_PREFIX, parse_ingest_file
from pipelines.lake.offsets import committed_offsets
from pipelines.settings import Settings
from transforms.contract import EVENT_SCHEMA, FIELDS

log = logging.getLogger(__name__)

MANIFEST_DIR = "_state/compaction"
DEFAULT_MIN_FILES = 2
DEFAULT_SMALL_FILE_BYTES = 64 * 1024 * 1024


@dataclass
class CompactionStats:
    """Outcome of compacting one or more event_date partitions."""

    partitions_compacted: int = 0
    files_in: int = 0
    files_out: int = 0
    rows_in: int = 0
    rows_out: int = 0
    duplicates_removed: int = 0
    recovered: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def _manifest_dir(settings: Settings) -> Path:
    return settings.lake_dir / MANIFEST_DIR


def recover(settings: Settings) -> list[str]:
    """Finish or roll back compactions interrupted by a crash; return what was done."""
    done = []
    for manifest_path in sorted(_manifest_dir(settings).glob("*.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        output = Path(manifest["output"])
        inputs = [Path(path) for path in manifest["inputs"]]
        if manifest["state"] == "committed":
            removed = remove_durably(inputs)
            action = f"rolled forward {output.name}: deleted {removed} remaining inputs"
        else:
            remove_durably([output, output.with_name(f".{output.name}.tmp")])
            action = f"rolled back {output.name}: inputs kept"
        remove_durably([manifest_path])
        log.warning("compaction recovery: %s", action)
        done.append(action)
    return done


def _eligible_files(settings: Settings, partition_dir: Path, small_bytes: int) -> list[Path]:
    committed = committed_offsets(settings.lake_dir)
    replays = completed_replay_ids(settings)
    chosen = []
    for path in sorted(partition_dir.glob("*.parquet")):
        if path.stat().st_size >= small_bytes:
            continue
        if path.name.startswith(COMPACTED_PREFIX):
            chosen.append(path)
        elif path.name.startswith(REPLAY_PREFIX):
            if path.stem.removeprefix(REPLAY_PREFIX) in replays:
                chosen.append(path)
        else:
            parsed = parse_ingest_file(path)
            if parsed is None:
                continue
            if parsed.last_offset < committed.get((parsed.topic, parsed.partition), 0):
                chosen.append(path)
    return chosen


def _merge_query(paths: list[Path]) -> str:
    files = ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths)
    content = ", ".join(f.name for f in FIELDS)
    return f"""
        SELECT * EXCLUDE (copy_rank) FROM (
            SELECT *, row_number() OVER (
                PARTITION BY event_id, hash({content})
                ORDER BY ingested_at, source_topic, source_partition, source_offset
            ) AS copy_rank
            FROM read_parquet([{files}], hive_partitioning = false, union_by_name = true)
        )
        WHERE copy_rank = 1
        ORDER BY event_time, event_id
    """


def compact_partition(
    settings: Settings,
    partition_dir: Path,
    *,
    min_files: int = DEFAULT_MIN_FILES,
    small_file_bytes: int = DEFAULT_SMALL_FILE_BYTES,
) -> CompactionStats:
    """Merge the eligible small files of one event_date folder into one compacted file."""
    stats = CompactionStats()
    inputs = _eligible_files(settings, partition_dir, small_file_bytes)
    if len(inputs) < min_files:
        return stats
    digest = hashlib.sha256("\n".join(path.name for path in inputs).encode()).hexdigest()[:20]
    output = partition_dir / f"{COMPACTED_PREFIX}{digest}.parquet"
    manifest_path = _manifest_dir(settings) / f"{partition_dir.name}+{digest}.json"
    manifest = {"output": str(output), "inputs": [str(path) for path in inputs]}

    write_text_durably(manifest_path, json.dumps({**manifest, "state": "writing"}))
    rows_in = sum(pq.ParquetFile(path).metadata.num_rows for path in inputs)
    with duckdb.connect() as con:
        table = con.sql(_merge_query(inputs)).to_arrow_table()
    write_parquet_durably(table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA), output)
    sync_directories([partition_dir])
    write_text_durably(manifest_path, json.dumps({**manifest, "state": "committed"}))
    remove_durably(inputs)
    remove_durably([manifest_path])

    stats.partitions_compacted = 1
    stats.files_in = len(inputs)
    stats.files_out = 1
    stats.rows_in = rows_in
    stats.rows_out = table.num_rows
    stats.duplicates_removed = rows_in - table.num_rows
    stats.outputs.append(str(output))
    log.info(
        "compacted %s: %d files with %d rows into %s with %d rows (%d exact duplicates removed)",
        partition_dir.name,
        len(inputs),
        rows_in,
        output.name,
        table.num_rows,
        stats.duplicates_removed,
    )
    return stats


def compact_lake(
    settings: Settings,
    *,
    event_date: str | None = None,
    min_files: int = DEFAULT_MIN_FILES,
    small_file_bytes: int = DEFAULT_SMALL_FILE_BYTES,
) -> CompactionStats:
    """Recover interrupted compactions, then compact one event_date folder or all of them."""
    total = CompactionStats(recovered=recover(settings))
    pattern = f"event_date={event_date}" if event_date else "event_date=*"
    for partition_dir in sorted(settings.decisions_dir.glob(pattern)):
        if not partition_dir.is_dir():
            continue
        one = compact_partition(
            settings, partition_dir, min_files=min_files, small_file_bytes=small_file_bytes
        )
        total.partitions_compacted += one.partitions_compacted
        total.files_in += one.files_in
        total.files_out += one.files_out
        total.rows_in += one.rows_in
        total.rows_out += one.rows_out
        total.duplicates_removed += one.duplicates_removed
        total.outputs.extend(one.outputs)
    return total
