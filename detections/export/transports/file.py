"""Append records to a local NDJSON file and fsync before returning."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from detections.export.errors import TransientDeliveryError


class NdjsonFileTransport:
    """Appends each batch with one write, then fsyncs the file (and its folder when created)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, records: Sequence[bytes]) -> None:
        data = b"".join(records)
        try:
            created = not self.path.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(descriptor, view)
                    view = view[written:]
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            if created:
                _fsync_directory(self.path.parent)
        except OSError as exc:
            raise TransientDeliveryError(f"write to {self.path} failed: {exc}") from exc

    def close(self) -> None:
        return None


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
