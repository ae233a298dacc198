"""The ingest worker's bounded buffer and its flush to durable Parquet files.

Records are kept per partition. Valid rows are turned into Arrow tables every
`CHUNK_ROWS` rows, so a full buffer costs about the Arrow size of its rows rather than the
size of Python dictionaries. A flush writes one file per (partition, event_date) and one
quarantine file per partition, each named after its topic, partition and offset range.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.kafka.quarantine_schema import QUARANTINE_SCHEMA, quarantine_row
from pipelines.lake.durable import sync_directories, write_parquet_durably
from pipelines.lake.layout import date_partition, ingest_file_name
from transforms.contract import EVENT_SCHEMA, rows_to_table

log = logging.getLogger(__name__)

CHUNK_ROWS = 8192


@dataclass(frozen=True)
class BatchLimits:
    """When to flush: at max_records records, max_bytes message bytes or max_seconds of age."""

    max_records: int = 100_000
    max_bytes: int = 64 * 1024 * 1024
    max_seconds: float = 30.0

    @classmethod
    def from_config(cls, ingest: dict[str, Any]) -> BatchLimits:
        limits = cls(
            max_records=int(ingest.get("batch_max_records", cls.max_records)),
            max_bytes=int(ingest.get("batch_max_bytes", cls.max_bytes)),
            max_seconds=float(ingest.get("batch_max_seconds", cls.max_seconds)),
        )
        if limits.max_records < 1 or limits.max_bytes < 1 or limits.max_seconds <= 0:
            raise ValueError(
                f"ingest batch limits must be positive, got {limits}; fix the ingest section"
            )
        return limits


@dataclass
class PendingMessage:
    """The raw message behind a valid row, kept until the row is in an Arrow table."""

    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None


@dataclass
class PartitionBatch:
    """Buffered records of one partition, in offset order."""

    partition: int
    next_offset: int = -1
    rows: list[dict[str, Any]] = field(default_factory=list)
    pending: list[PendingMessage] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    tables: list[pa.Table] = field(default_factory=list)
    date_arrays: list[pa.Array] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)

    @property
    def valid_count(self) -> int:
        return len(self.rows) + sum(table.num_rows for table in self.tables)


@dataclass
class FlushResult:
    """Result of one flush: the durable files, row counts and the offsets to commit."""

    files: list[Path]
    written: int
    quarantined: int
    next_offsets: dict[int, int]
    first_offsets: dict[int, int]


class IngestBuffer:
    """A bounded buffer of decoded records for one topic, flushed as a unit."""

    def __init__(self, topic: str, limits: BatchLimits):
        self.topic = topic
        self.limits = limits
        self.partitions: dict[int, PartitionBatch] = {}
        self.first_offsets: dict[int, int] = {}
        self.record_count = 0
        self.byte_count = 0
        self.opened_at: float | None = None

    def _batch(self, partition: int, offset: int, size: int) -> PartitionBatch:
        batch = self.partitions.get(partition)
        if batch is None:
            batch = self.partitions[partition] = PartitionBatch(partition)
            self.first_offsets[partition] = offset
        if self.opened_at is None:
            self.opened_at = time.monotonic()
        batch.next_offset = offset + 1
        self.record_count += 1
        self.byte_count += size
        return batch

    def add_event(self, row: dict[str, Any], day: str, message: PendingMessage, size: int) -> None:
        """Buffer one valid row (lineage filled) with its event_date and raw message."""
        batch = self._batch(row["source_partition"], message.offset, size)
        batch.rows.append(row)
        batch.pending.append(message)
        batch.dates.append(day)
        if len(batch.rows) >= CHUNK_ROWS:
            self._convert(batch)

    def add_quarantined(self, row: dict[str, Any], size: int) -> None:
        """Buffer one row of QUARANTINE_SCHEMA."""
        batch = self._batch(row["source_partition"], row["source_offset"], size)
        batch.quarantined.append(row)

    def _convert(self, batch: PartitionBatch) -> None:
        """Move pending rows into an Arrow table; a row that Arrow rejects goes to quarantine."""
        if not batch.rows:
            return
        try:
            table = rows_to_table(batch.rows)
            dates = pa.array(batch.dates, pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            table, dates = self._convert_row_by_row(batch)
        if table.num_rows:
            batch.tables.append(table)
            batch.date_arrays.append(dates)
        batch.rows.clear()
        batch.pending.clear()
        batch.dates.clear()

    def _convert_row_by_row(self, batch: PartitionBatch) -> tuple[pa.Table, pa.Array]:
        kept_rows, kept_dates = [], []
        for row, message, day in zip(batch.rows, batch.pending, batch.dates, strict=True):
            try:
                rows_to_table([row])
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                log.warning(
                    "topic %s partition %d offset %d: row does not fit the event schema (%s); "
                    "quarantining it",
                    self.topic,
                    batch.partition,
                    message.offset,
                    exc,
                )
                batch.quarantined.append(
                    quarantine_row(
                        value=message.value,
                        key=message.key,
                        reason=f"row does not fit the event schema: {exc}",
                        field=None,
                        topic=self.topic,
                        partition=batch.partition,
                        offset=message.offset,
                        timestamp_ms=message.timestamp_ms,
                        quarantined_at=row["ingested_at"],
                    )
                )
                continue
            kept_rows.append(row)
            kept_dates.append(day)
        return rows_to_table(kept_rows), pa.array(kept_dates, pa.string())

    def is_over_size(self) -> bool:
        """Return True when the buffer contains max_records records or max_bytes bytes."""
        return (
            self.record_count >= self.limits.max_records or self.byte_count >= self.limits.max_bytes
        )

    def full_reason(self) -> str | None:
        """Return why the buffer must be flushed now (count, bytes or age), or None."""
        if self.record_count >= self.limits.max_records:
            return "max_records"
        if self.byte_count >= self.limits.max_bytes:
            return "max_bytes"
        if self.opened_at is not None and (
            time.monotonic() - self.opened_at >= self.limits.max_seconds
        ):
            return "max_seconds"
        return None

    def clear(self) -> None:
        """Drop every buffered record; nothing of them was committed, so they are read again."""
        self.partitions.clear()
        self.first_offsets.clear()
        self.record_count = 0
        self.byte_count = 0
        self.opened_at = None

    def write(self, decisions_dir: Path, quarantine_dir: Path, flushed_at: datetime) -> FlushResult:
        """Write every buffered record durably and return what to commit; the buffer empties."""
        files: list[Path] = []
        written = quarantined = 0
        for partition in sorted(self.partitions):
            batch = self.partitions[partition]
            self._convert(batch)
            written += self._write_events(batch, decisions_dir, files)
            quarantined += self._write_quarantine(batch, quarantine_dir, flushed_at, files)
        sync_directories({path.parent for path in files})
        result = FlushResult(
            files=files,
            written=written,
            quarantined=quarantined,
            next_offsets={p: b.next_offset for p, b in self.partitions.items()},
            first_offsets=dict(self.first_offsets),
        )
        self.clear()
        return result

    def _write_events(self, batch: PartitionBatch, decisions_dir: Path, files: list[Path]) -> int:
        if not batch.tables:
            return 0
        table = pa.concat_tables(batch.tables)
        dates = pa.chunked_array(batch.date_arrays)
        for day in sorted(pc.unique(dates).to_pylist()):
            subset = table.filter(pc.equal(dates, day))
            bounds = pc.min_max(subset["source_offset"]).as_py()
            name = ingest_file_name(self.topic, batch.partition, bounds["min"], bounds["max"])
            path = date_partition(decisions_dir, "event_date", day) / name
            files.append(write_parquet_durably(subset.cast(EVENT_SCHEMA), path))
        return table.num_rows

    def _write_quarantine(
        self, batch: PartitionBatch, quarantine_dir: Path, flushed_at: datetime, files: list[Path]
    ) -> int:
        if not batch.quarantined:
            return 0
        table = pa.Table.from_pylist(batch.quarantined, schema=QUARANTINE_SCHEMA)
        offsets = [row["source_offset"] for row in batch.quarantined]
        name = ingest_file_name(self.topic, batch.partition, min(offsets), max(offsets))
        day = flushed_at.strftime("%Y-%m-%d")
        path = date_partition(quarantine_dir, "ingest_date", day) / name
        files.append(write_parquet_durably(table, path))
        return table.num_rows
