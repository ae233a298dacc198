"""One HTTP POST with failures sorted into transient and permanent."""

from __future__ import annotations

import http.client
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping

from detections.export.errors import PermanentDeliveryError, TransientDeliveryError

# Status codes worth retrying besides 5xx: request timeout and rate limiting.
RETRYABLE_4XX = (408, 429)
MAX_REASON_BODY = 200


def build_ssl_context(verify_tls: bool, ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> bytes:
    """POST `body` and return the body of a 2xx response.

    Raises TransientDeliveryError on timeouts, connection errors, 5xx, 408 and 429, and
    PermanentDeliveryError on any other 4xx. Reasons never contain the request headers,
    so a token in a header stays out of logs and the ledger.
    """
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=ssl_context) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        detail = _read_detail(exc)
        reason = f"POST {url} returned HTTP {exc.code}: {detail}"
        if exc.code >= 500 or exc.code in RETRYABLE_4XX:
            raise TransientDeliveryError(reason) from exc
        raise PermanentDeliveryError(reason) from exc
    except urllib.error.URLError as exc:
        raise TransientDeliveryError(f"POST {url} failed: {exc.reason}") from exc
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise TransientDeliveryError(
            f"POST {url} failed: {type(exc).__name__}: {exc or 'no response'}"
        ) from exc


def _read_detail(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read().decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException):
        text = ""
    text = " ".join(text.split())
    return text[:MAX_REASON_BODY] or exc.reason or "no body"
