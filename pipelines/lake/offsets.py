"""Offsets the ingest worker has committed, recorded beside the lake.

After each successful Kafka commit the worker records, per topic partition, the next offset
to read. Every ingest file of that partition whose last offset is below it holds committed
records only, which compaction relies on. The record can lag the Kafka commit (a crash
between the two) but never leads it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.lake.durable import write_text_durably

STATE_DIR = "_state/ingest_offsets"


def _path(lake_dir: Path, topic: str, partition: int) -> Path:
    return lake_dir / STATE_DIR / f"{topic}+{partition}.json"


def record_committed_offset(
    lake_dir: Path, topic: str, partition: int, offset: int, group: str
) -> None:
    """Durably record that `group` committed `offset` (the next to read) for a partition."""
    text = json.dumps({"topic": topic, "partition": partition, "offset": offset, "group": group})
    write_text_durably(_path(lake_dir, topic, partition), text)


def committed_offsets(lake_dir: Path) -> dict[tuple[str, int], int]:
    """Return the recorded next offset per (topic, partition); empty when nothing was recorded."""
    found: dict[tuple[str, int], int] = {}
    for path in sorted((lake_dir / STATE_DIR).glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        found[(record["topic"], int(record["partition"]))] = int(record["offset"])
    return found
