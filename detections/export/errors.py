"""Errors raised while configuring sinks and delivering alerts to them."""

from __future__ import annotations


class ExportConfigError(ValueError):
    """A sink's configuration is missing a key or has an invalid value."""


class DeliveryError(Exception):
    """A delivery attempt failed; `reason` is safe to store in the ledger and to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientDeliveryError(DeliveryError):
    """The attempt may succeed later: timeout, refused or dropped connection, HTTP 5xx or 429."""


class PermanentDeliveryError(DeliveryError):
    """The receiver rejected the content or the credentials (HTTP 4xx): a retry cannot help."""
