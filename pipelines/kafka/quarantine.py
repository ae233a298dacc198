"""Quarantined messages: listing them, and replaying them through the current validation.

Replay reads every committed quarantine row that no earlier replay sent to the lake,
validates its raw bytes with the current contract code and configuration, and writes the
valid ones to `decisions/event_date=.../replay+<replay id>.parquet` with their original
topic, partition and offset. Steps, in order:
  1. remove lake files of any replay that has no ledger entry (a replay that crashed),
  2. write the replayed rows durably,
  3. write the ledger entry `_state/replay_ledger/<replay id>.parquet` durably.
A row in a ledger entry is never replayed again. Rows that are still invalid stay in
quarantine for a later replay. The warehouse deduplicates by event_id in any case.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.kafka.quarantine_schema import QUARANTINE_SCHEMA
from pipelines.lake.durable import remove_durably, sync_directories, write_parquet_durably
from pipelines.lake.layout import REPLAY_PREFIX, date_partition
from pipelines.lake.offsets import committed_offsets
from pipelines.settings import Settings
from transforms.contract import (
    DEFAULT_MAX_MESSAGE_BYTES,
    EVENT_SCHEMA,
    InvalidEvent,
    event_date,
    parse_event,
    rows_to_table,
)

log = logging.getLogger(__name__)

LEDGER_DIR = "_state/replay_ledger"
LEDGER_SCHEMA = pa.schema(
    [
        pa.field("source_topic", pa.string(), nullable=False),
        pa.field("source_partition", pa.int32(), nullable=False),
        pa.field("source_offset", pa.int64(), nullable=False),
        pa.field("event_id", pa.string()),
        pa.field("replay_id", pa.string(), nullable=False),
        pa.field("replayed_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

RecordKey = tuple[str, int, int]


def read_quarantine(settings: Settings) -> list[dict[str, Any]]:
    """Return every quarantined row, ordered by topic, partition and offset."""
    paths = sorted(settings.quarantine_dir.glob("ingest_date=*/*.parquet"))
    rows: list[dict[str, Any]] = []
    for path in paths:
        table = pq.read_table(path, schema=QUARANTINE_SCHEMA)
        for row in table.to_pylist():
            row["quarantine_file"] = str(path)
            rows.append(row)
    rows.sort(key=lambda row: (row["source_topic"], row["source_partition"], row["source_offset"]))
    return rows


def _ledger_dir(settings: Settings) -> Path:
    return settings.lake_dir / LEDGER_DIR


def replayed_keys(settings: Settings) -> set[RecordKey]:
    """Return (topic, partition, offset) of each record a completed replay sent to the lake."""
    keys: set[RecordKey] = set()
    for path in sorted(_ledger_dir(settings).glob("*.parquet")):
        table = pq.read_table(path, columns=["source_topic", "source_partition", "source_offset"])
        keys.update(
            zip(
                table["source_topic"].to_pylist(),
                table["source_partition"].to_pylist(),
                table["source_offset"].to_pylist(),
                strict=True,
            )
        )
    return keys


def completed_replay_ids(settings: Settings) -> set[str]:
    """Return the ids of replays whose ledger entry was written."""
    return {path.stem for path in _ledger_dir(settings).glob("*.parquet")}


def summarize(rows: list[dict[str, Any]], replayed: set[RecordKey]) -> dict[str, Any]:
    """Count quarantined rows by reason and by field, and how many were replayed."""
    keys = [(r["source_topic"], r["source_partition"], r["source_offset"]) for r in rows]
    return {
        "total": len(rows),
        "replayed": sum(1 for key in keys if key in replayed),
        "by_reason": dict(Counter(row["reason"] for row in rows).most_common()),
        "by_field": dict(Counter(row["field"] or "-" for row in rows).most_common()),
    }


@dataclass
class ReplayStats:
    """Outcome of one replay run."""

    replay_id: str
    candidates: int = 0
    replayed: int = 0
    still_invalid: int = 0
    skipped_already_replayed: int = 0
    skipped_uncommitted: int = 0
    rolled_back_files: int = 0
    files: list[str] = field(default_factory=list)
    still_invalid_reasons: dict[str, int] = field(default_factory=dict)


def _roll_back_incomplete(settings: Settings) -> int:
    """Delete lake files of replays that never wrote their ledger entry."""
    done = completed_replay_ids(settings)
    orphans = [
        path
        for path in settings.decisions_dir.glob(f"event_date=*/{REPLAY_PREFIX}*.parquet")
        if path.stem.removeprefix(REPLAY_PREFIX) not in done
    ]
    removed = remove_durably(orphans)
    if removed:
        log.warning("removed %d lake files of an interrupted quarantine replay", removed)
    return removed


def replay_quarantine(settings: Settings, *, now: datetime | None = None) -> ReplayStats:
    """Validate held messages again and move the valid ones to the lake; see the module doc."""
    now = now or datetime.now(UTC)
    stats = ReplayStats(replay_id=f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}")
    stats.rolled_back_files = _roll_back_incomplete(settings)
    config = settings.section("ingest")
    max_bytes = int(config.get("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES))
    skew = timedelta(hours=float(config.get("max_future_skew_hours", 24)))
    done = replayed_keys(settings)
    committed = committed_offsets(settings.lake_dir)

    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    ledger: list[dict[str, Any]] = []
    invalid: Counter[str] = Counter()
    seen: set[RecordKey] = set()
    for held in read_quarantine(settings):
        key = (held["source_topic"], held["source_partition"], held["source_offset"])
        if key in done or key in seen:
            stats.skipped_already_replayed += 1
            continue
        seen.add(key)
        if held["source_offset"] >= committed.get(key[:2], 0):
            stats.skipped_uncommitted += 1
            continue
        stats.candidates += 1
        try:
            row = parse_event(
                held["raw_value"],
                max_bytes=max_bytes,
                now=now,
                max_future_skew=skew,
            )
        except InvalidEvent as exc:
            invalid[exc.reason] += 1
            continue
        row.update(
            source_topic=key[0], source_partition=key[1], source_offset=key[2], ingested_at=now
        )
        by_day[event_date(row)].append(row)
        ledger.append(
            {
                "source_topic": key[0],
                "source_partition": key[1],
                "source_offset": key[2],
                "event_id": row["event_id"],
                "replay_id": stats.replay_id,
                "replayed_at": now,
            }
        )

    stats.still_invalid = sum(invalid.values())
    stats.still_invalid_reasons = dict(invalid.most_common())
    if ledger:
        _write_replay(settings, stats, by_day, ledger)
    log.info(
        "quarantine replay %s: %d candidates, %d replayed in %d files, %d still invalid, "
        "%d already replayed, %d not yet committed",
        stats.replay_id,
        stats.candidates,
        stats.replayed,
        len(stats.files),
        stats.still_invalid,
        stats.skipped_already_replayed,
        stats.skipped_uncommitted,
    )
    return stats


def _write_replay(
    settings: Settings,
    stats: ReplayStats,
    by_day: dict[str, list[dict[str, Any]]],
    ledger: list[dict[str, Any]],
) -> None:
    written = []
    for day, rows in sorted(by_day.items()):
        rows.sort(key=lambda row: (row["source_partition"], row["source_offset"]))
        path = date_partition(settings.decisions_dir, "event_date", day)
        path = path / f"{REPLAY_PREFIX}{stats.replay_id}.parquet"
        written.append(write_parquet_durably(rows_to_table(rows).cast(EVENT_SCHEMA), path))
        stats.replayed += len(rows)
    sync_directories({path.parent for path in written})
    ledger_path = _ledger_dir(settings) / f"{stats.replay_id}.parquet"
    write_parquet_durably(pa.Table.from_pylist(ledger, schema=LEDGER_SCHEMA), ledger_path)
    sync_directories([ledger_path.parent])
    stats.files = [str(path) for path in written]
