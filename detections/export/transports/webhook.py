"""Generic JSON webhook: one POST per alert, optionally signed with HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence

from detections.export.transports.http import build_ssl_context, post

DEFAULT_SIGNATURE_HEADER = "X-Agentaudit-Signature"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """Return the signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.

    The MAC covers `<timestamp>.` followed by the body, so a receiver can reject replays
    older than its tolerance as well as altered bodies.
    """
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class WebhookTransport:
    """POSTs each record (one JSON alert) to `url`."""

    def __init__(
        self,
        *,
        url: str,
        timeout: float,
        secret: bytes | None = None,
        signature_header: str = DEFAULT_SIGNATURE_HEADER,
        headers: Mapping[str, str] | None = None,
        verify_tls: bool = True,
        ca_file: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._secret = secret
        self.signature_header = signature_header
        self.headers = dict(headers or {})
        self._ssl = build_ssl_context(verify_tls, ca_file) if url.startswith("https") else None
        self._clock = clock

    def send(self, records: Sequence[bytes]) -> None:
        for body in records:
            headers = {"Content-Type": "application/json", **self.headers}
            if self._secret is not None:
                headers[self.signature_header] = sign(self._secret, int(self._clock()), body)
            post(self.url, body, headers, timeout=self.timeout, ssl_context=self._ssl)

    def close(self) -> None:
        return None
