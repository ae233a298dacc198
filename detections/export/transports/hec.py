"""Splunk HTTP Event Collector: batched events, optional indexer acknowledgement."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence

from detections.export.errors import PermanentDeliveryError, TransientDeliveryError
from detections.export.transports.http import build_ssl_context, post

logger = logging.getLogger(__name__)

EVENT_PATH = "/services/collector/event"
ACK_PATH = "/services/collector/ack"
CHANNEL_HEADER = "X-Splunk-Request-Channel"


class HecTransport:
    """Sends a batch as one request and, with `ack`, waits until Splunk reports it indexed."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        timeout: float,
        ack: bool = False,
        ack_timeout: float = 30.0,
        ack_poll_interval: float = 1.0,
        channel: str | None = None,
        verify_tls: bool = True,
        ca_file: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.ack = ack
        self.ack_timeout = ack_timeout
        self.ack_poll_interval = ack_poll_interval
        self.channel = channel or str(uuid.uuid4())
        self._ssl = build_ssl_context(verify_tls, ca_file) if url.startswith("https") else None
        self._sleep = sleep
        self._monotonic = monotonic

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Splunk {self._token}",
            "Content-Type": "application/json",
            CHANNEL_HEADER: self.channel,
        }

    def send(self, records: Sequence[bytes]) -> None:
        body = b"".join(records)
        response_body = post(
            self.base_url + EVENT_PATH,
            body,
            self._headers(),
            timeout=self.timeout,
            ssl_context=self._ssl,
        )
        reply = _parse_reply(response_body)
        if reply.get("code", 0) != 0:
            raise PermanentDeliveryError(
                f"HEC rejected the batch: code {reply.get('code')}: {reply.get('text')}"
            )
        if not self.ack:
            return
        ack_id = reply.get("ackId")
        if not isinstance(ack_id, int):
            raise PermanentDeliveryError(
                "HEC returned no ackId although ack is enabled: turn on indexer "
                "acknowledgement for this token in Splunk, or set ack: false"
            )
        self._wait_for_ack(ack_id)

    def _wait_for_ack(self, ack_id: int) -> None:
        deadline = self._monotonic() + self.ack_timeout
        url = f"{self.base_url}{ACK_PATH}?channel={self.channel}"
        body = json.dumps({"acks": [ack_id]}).encode()
        while True:
            response_body = post(
                url, body, self._headers(), timeout=self.timeout, ssl_context=self._ssl
            )
            acks = _parse_reply(response_body).get("acks", {})
            if acks.get(str(ack_id)) is True:
                logger.debug("HEC ack %s received on channel %s", ack_id, self.channel)
                return
            if self._monotonic() >= deadline:
                raise TransientDeliveryError(
                    f"HEC ack {ack_id} on channel {self.channel} not received within "
                    f"{self.ack_timeout:g}s; the batch will be sent again"
                )
            self._sleep(self.ack_poll_interval)

    def close(self) -> None:
        return None


def _parse_reply(body: bytes) -> dict:
    try:
        reply = json.loads(body or b"{}")
    except ValueError as exc:
        raise TransientDeliveryError(
            f"HEC returned a body that is not JSON: {body[:80]!r}"
        ) from exc
    if not isinstance(reply, dict):
        raise TransientDeliveryError(f"HEC returned unexpected JSON: {body[:80]!r}")
    return reply
