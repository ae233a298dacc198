"""Transports move rendered records to a receiver and classify each failure.

A transport's `send(records)` returns when the receiver accepted every record, and raises
`TransientDeliveryError` or `PermanentDeliveryError` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Transport(Protocol):
    def send(self, records: Sequence[bytes]) -> None: ...

    def close(self) -> None: ...
