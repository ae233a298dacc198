"""Kafka producer for decision events: JSON values keyed by agent_id, batched and compressed.

kafka-python 3.x enables the idempotent producer by default (acks=all, unbounded retries,
at most 5 requests in flight), so a retried send never writes a record twice within one
producer session. The options below leave those defaults alone and only tune batching.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError, MessageSizeTooLargeError, TopicAlreadyExistsError

from pipelines.kafka.broker import ensure_broker
from pipelines.settings import Settings

log = logging.getLogger(__name__)

LINGER_MS = 20
BATCH_BYTES = 256 * 1024
COMPRESSION = "lz4"
# The local broker accepts batches up to message.max.bytes, 4 MiB. A request limit just
# below it lets tests send oversized messages, which the ingest worker must quarantine.
MAX_REQUEST_BYTES = 4 * 1024 * 1024 - 64 * 1024


class ProduceError(RuntimeError):
    """Some records could not be delivered to Kafka."""


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"value of type {type(value).__name__} is not JSON serializable")


def encode_event(event: dict[str, Any]) -> bytes:
    """Encode one contract event as compact UTF-8 JSON; datetimes become ISO-8601 text."""
    return json.dumps(
        event, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode()


def agent_key(event: dict[str, Any]) -> bytes | None:
    agent_id = event.get("agent_id")
    return agent_id.encode() if isinstance(agent_id, str) else None


def open_producer(settings: Settings) -> KafkaProducer:
    """Open an idempotent producer; the local broker is started when none is configured."""
    return KafkaProducer(
        bootstrap_servers=ensure_broker(settings),
        client_id="agentaudit-producer",
        linger_ms=LINGER_MS,
        batch_size=BATCH_BYTES,
        compression_type=COMPRESSION,
        max_request_size=MAX_REQUEST_BYTES,
    )


def produce_records(
    settings: Settings,
    records: Iterable[tuple[bytes | None, bytes | None]],
    *,
    topic: str | None = None,
) -> int:
    """Send (key, value) byte pairs unchanged to `topic`; return the count sent.

    Raises ProduceError when any record was not acknowledged.
    """
    topic = topic or settings.topic
    producer = open_producer(settings)
    failures: list[Exception] = []
    too_large: list[int] = []
    sent = 0
    try:
        for index, (key, value) in enumerate(records):
            try:
                future = producer.send(topic, value=value, key=key)
            except MessageSizeTooLargeError:
                # Kafka cannot carry it at all; keep sending the rest, report it at the end.
                too_large.append(index)
                continue
            future.add_errback(failures.append)
            sent += 1
        producer.flush()
    finally:
        producer.close()
    if too_large:
        raise ProduceError(
            f"{len(too_large)} records were over the producer's request limit of "
            f"{MAX_REQUEST_BYTES} bytes and were not sent (record numbers from 0: "
            f"{too_large[:20]}); the other {sent} records went to topic {topic}"
        )
    if failures:
        raise ProduceError(
            f"{len(failures)} of {sent} records to topic {topic} failed, first error: "
            f"{failures[0]!r}; check that the broker at {settings.bootstrap_servers} is up"
        )
    log.info("produced %d records to topic %s", sent, topic)
    return sent


def produce_events(settings: Settings, events: Iterable[dict], *, topic: str | None = None) -> int:
    """Send contract events as JSON to `topic` (default: the configured one); return the count.

    The key is the agent_id, so each agent's events keep their order within one partition.
    Raises ProduceError when any record was not acknowledged.
    """
    records = ((agent_key(event), encode_event(event)) for event in events)
    return produce_records(settings, records, topic=topic)


def produce_raw(
    settings: Settings,
    values: Iterable[bytes | None],
    keys: Iterable[bytes | None] | None = None,
    topic: str | None = None,
) -> int:
    """Send raw message values unchanged (for malformed input and tests); return the count."""
    values = list(values)
    key_list = list(keys) if keys is not None else [None] * len(values)
    if len(key_list) != len(values):
        raise ValueError(f"got {len(key_list)} keys for {len(values)} values; pass one key a value")
    return produce_records(settings, zip(key_list, values, strict=True), topic=topic)


def ensure_topic(
    settings: Settings, topic: str | None = None, partitions: int | None = None
) -> bool:
    """Create `topic` with `partitions` partitions unless it exists; return True if created."""
    target = topic or settings.topic
    count = partitions or int(settings.section("kafka").get("partitions", 6))
    admin = KafkaAdminClient(
        bootstrap_servers=ensure_broker(settings), client_id="agentaudit-admin"
    )
    try:
        if target in admin.list_topics():
            return False
        try:
            admin.create_topics(
                {target: {"num_partitions": count, "replication_factor": -1}},
                wait_for_metadata=True,
            )
        except TopicAlreadyExistsError:
            return False
        except KafkaError as exc:
            raise ProduceError(
                f"creating topic {target} with {count} partitions failed: {exc}"
            ) from exc
    finally:
        admin.close()
    log.info("created topic %s with %d partitions", target, count)
    return True
