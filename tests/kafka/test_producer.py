"""The producer keeps sending after a record Kafka cannot carry, and reports which it skipped."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer

from pipelines.kafka.producer import MAX_REQUEST_BYTES, ProduceError, ensure_topic, produce_records


@pytest.mark.integration
def test_oversized_record_skipped_rest_sent(settings, kafka_bootstrap):
    records = [(b"k", f'{{"n": {n}}}'.encode()) for n in range(5)]
    records.insert(2, (b"k", b"x" * (MAX_REQUEST_BYTES + 1)))
    ensure_topic(settings, partitions=1)

    with pytest.raises(ProduceError) as excinfo:
        produce_records(settings, records)

    assert "1 records were over the producer's request limit" in str(excinfo.value)
    assert "[2]" in str(excinfo.value)
    consumer = KafkaConsumer(
        settings.topic,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
        group_id=None,
    )
    try:
        values = [message.value for message in consumer]
    finally:
        consumer.close()
    assert values == [f'{{"n": {n}}}'.encode() for n in range(5)]
