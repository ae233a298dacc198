"""File layout of the lake: hive partitions and deterministic file names.

    decisions/event_date=YYYY-MM-DD/<topic>+<partition>+<first offset>+<last offset>.parquet
    decisions/event_date=YYYY-MM-DD/compacted+<digest>.parquet
    decisions/event_date=YYYY-MM-DD/replay+<replay id>.parquet
    quarantine/ingest_date=YYYY-MM-DD/<topic>+<partition>+<first offset>+<last offset>.parquet

Offsets are zero-padded to 20 digits so that names sort in offset order. Kafka topic names
use only letters, digits, '.', '_' and '-', so '+' separates the parts without ambiguity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

OFFSET_DIGITS = 20
COMPACTED_PREFIX = "compacted+"
REPLAY_PREFIX = "replay+"

_INGEST_NAME = re.compile(
    r"^(?P<topic>[A-Za-z0-9._-]+)\+(?P<partition>\d+)\+(?P<first>\d{20})\+(?P<last>\d{20})\.parquet$"
)


@dataclass(frozen=True)
class IngestFile:
    """A lake file written by the ingest worker, identified by its name."""

    path: Path
    topic: str
    partition: int
    first_offset: int
    last_offset: int


def ingest_file_name(topic: str, partition: int, first_offset: int, last_offset: int) -> str:
    """Return the name of the file holding `topic`/`partition` records first..last (inclusive)."""
    first = f"{first_offset:0{OFFSET_DIGITS}d}"
    last = f"{last_offset:0{OFFSET_DIGITS}d}"
    return f"{topic}+{partition}+{first}+{last}.parquet"


def parse_ingest_file(path: Path) -> IngestFile | None:
    """Parse an ingest worker file name; None for compacted, replayed or foreign files."""
    match = _INGEST_NAME.match(path.name)
    if match is None:
        return None
    return IngestFile(
        path=path,
        topic=match["topic"],
        partition=int(match["partition"]),
        first_offset=int(match["first"]),
        last_offset=int(match["last"]),
    )


def date_partition(root: Path, key: str, day: str) -> Path:
    """Return the hive partition folder `root/<key>=<day>`."""
    return root / f"{key}={day}"


def partition_files(root: Path, topic: str, partition: int) -> list[IngestFile]:
    """List the ingest worker files of one topic partition in every date folder under `root`."""
    found = []
    for path in root.glob(f"*=*/{topic}+{partition}+*.parquet"):
        parsed = parse_ingest_file(path)
        if parsed is not None and parsed.topic == topic and parsed.partition == partition:
            found.append(parsed)
    return sorted(found, key=lambda item: (item.first_offset, str(item.path)))


def partition_temp_files(root: Path, topic: str, partition: int) -> list[Path]:
    """List temporary files left by an interrupted write for one topic partition."""
    return sorted(root.glob(f"*=*/.{topic}+{partition}+*.tmp"))
