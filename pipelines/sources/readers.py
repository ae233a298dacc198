"""Readers for JSON log files: one JSON document, a JSON array, NDJSON, and gzip of any of them.

Readers yield `(origin, value)` pairs, where value is the decoded JSON value or a
`Rejected` record for a line that is not valid JSON. The caller decides what a valid
record looks like.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.sources.common import Rejected

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: Path) -> bytes:
    """Read a file, decompressing it when it starts with the gzip magic number."""
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: invalid gzip data: {exc}") from exc
    return data


def iter_json_values(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield every top-level JSON value of a file: the whole document, or one per NDJSON line.

    A file that parses as one JSON document yields that document once. A file that does not
    (several values one per line, as Logstash and the OpenTelemetry file exporter write)
    is read line by line, and a line that is not valid JSON yields a `Rejected` value.
    """
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield (
            f"{path}",
            Rejected(data[:4096], f"file is not valid UTF-8 at byte {exc.start}", str(path)),
        )
        return
    if not text.strip():
        log.warning("empty input file %s", path)
        return
    try:
        yield f"{path}", json.loads(text)
        return
    except json.JSONDecodeError:
        pass
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        origin = f"{path}:{number}"
        try:
            yield origin, json.loads(line)
        except json.JSONDecodeError as exc:
            yield (
                origin,
                Rejected(
                    line.encode("utf-8"), f"invalid JSON: {exc.msg} at column {exc.colno}", origin
                ),
            )
