"""The delivery engine shared by every sink: batching, retries with backoff, the ledger."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from detections.export.config import RetryPolicy, SinkConfig
from detections.export.errors import PermanentDeliveryError, TransientDeliveryError
from detections.export.ledger import FAILED, PENDING, SENT, Delivery, record_outcome
from detections.export.result import SinkResult
from detections.export.sinks import Renderer
from detections.export.transports import Transport

logger = logging.getLogger(__name__)


@dataclass
class Pacing:
    """Sleep and randomness for backoff, replaceable so that tests run without waiting."""

    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, policy: RetryPolicy, retry_number: int) -> float:
        """Return a full-jitter delay: uniform in [0, min(max, initial * 2**(n-1))]."""
        ceiling = policy.initial_backoff_seconds * 2 ** (retry_number - 1)
        return self.rng.uniform(0, min(policy.max_backoff_seconds, ceiling))


@dataclass
class _Attempt:
    ok: bool
    attempts: int
    permanent: bool = False
    error: str | None = None


def deliver(
    con: duckdb.DuckDBPyConnection,
    sink: SinkConfig,
    due: Sequence[Delivery],
    render: Renderer,
    transport: Transport,
    batch_size: int,
    result: SinkResult,
    pacing: Pacing,
) -> None:
    """Send every due delivery in batches and record each outcome in the ledger."""
    for start in range(0, len(due), batch_size):
        _deliver_batch(
            con, sink, list(due[start : start + batch_size]), render, transport, result, pacing
        )


def _deliver_batch(
    con: duckdb.DuckDBPyConnection,
    sink: SinkConfig,
    batch: list[Delivery],
    render: Renderer,
    transport: Transport,
    result: SinkResult,
    pacing: Pacing,
) -> None:
    records: list[bytes] = []
    renderable: list[Delivery] = []
    for delivery in batch:
        try:
            records.append(render(delivery.alert, delivery.is_update))
            renderable.append(delivery)
        except (ValueError, TypeError) as exc:
            reason = f"rendering alert {delivery.alert.alert_id} failed: {exc}"
            logger.error("sink %s: %s", sink.name, reason)
            record_batch(con, sink, [delivery], FAILED, 1, reason)
            result.failed += 1
    if not renderable:
        return

    attempt = _send_with_retry(sink, transport, records, pacing)
    if attempt.attempts > 1:
        result.retried += len(renderable)
    if attempt.ok:
        record_batch(con, sink, renderable, SENT, attempt.attempts, None)
        for delivery in renderable:
            if delivery.is_update:
                result.updated += 1
            else:
                result.sent += 1
        return
    if attempt.permanent and len(renderable) > 1:
        # The receiver rejected the batch: send each alert alone so that one bad record
        # does not fail the others.
        logger.warning(
            "sink %s: batch of %d rejected (%s); sending its alerts one by one",
            sink.name,
            len(renderable),
            attempt.error,
        )
        for delivery in renderable:
            _deliver_batch(con, sink, [delivery], render, transport, result, pacing)
        return
    status = FAILED if attempt.permanent else PENDING
    record_batch(con, sink, renderable, status, attempt.attempts, attempt.error)
    ids = ", ".join(delivery.alert.alert_id for delivery in renderable[:5])
    if attempt.permanent:
        result.failed += len(renderable)
        logger.error("sink %s: alert %s rejected: %s", sink.name, ids, attempt.error)
    else:
        result.pending += len(renderable)
        logger.warning(
            "sink %s: %d alert(s) (%s) still pending after %d attempts: %s",
            sink.name,
            len(renderable),
            ids,
            attempt.attempts,
            attempt.error,
        )


def _send_with_retry(
    sink: SinkConfig, transport: Transport, records: list[bytes], pacing: Pacing
) -> _Attempt:
    policy = sink.retry
    for number in range(1, policy.max_attempts + 1):
        try:
            transport.send(records)
            return _Attempt(ok=True, attempts=number)
        except PermanentDeliveryError as exc:
            return _Attempt(ok=False, attempts=number, permanent=True, error=exc.reason)
        except TransientDeliveryError as exc:
            if number == policy.max_attempts:
                return _Attempt(ok=False, attempts=number, error=exc.reason)
            delay = pacing.backoff(policy, number)
            logger.info(
                "sink %s: attempt %d of %d failed (%s); retrying in %.2fs",
                sink.name,
                number,
                policy.max_attempts,
                exc.reason,
                delay,
            )
            pacing.sleep(delay)
    raise AssertionError("unreachable: the loop returns on its last attempt")


def record_batch(
    con: duckdb.DuckDBPyConnection,
    sink: SinkConfig,
    deliveries: Sequence[Delivery],
    status: str,
    attempts: int,
    error: str | None,
) -> None:
    record_outcome(
        con,
        sink.name,
        deliveries,
        status=status,
        attempts=attempts,
        error=error,
        at=datetime.now(UTC),
    )
