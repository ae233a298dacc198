"""The ingest worker's flush and commit protocol against the real broker.

Covers batch limits, file naming, lineage columns, committed offsets, a restart after files
were written but not committed, and a clean stop on SIGTERM.
"""

from __future__ import annotations

import json
import signal
import time

import pyarrow.parquet as pq
import pytest
from kafka import KafkaAdminClient

from pipelines.kafka.ingest import IngestWorker, run_ingest
from pipelines.kafka.producer import ensure_topic, produce_events
from pipelines.lake.layout import parse_ingest_file
from pipelines.lake.offsets import committed_offsets
from tests.kafka.events import make_events
from tests.kafka.lake import event_id_counts, lake_rows, settings_for
from tests.kafka.workers import start_worker, write_config

pytestmark = pytest.mark.integration


def _group_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


def test_ingest_writes_each_event_once(tmp_path, topic_name, kafka_bootstrap):
    settings = settings_for(tmp_path, topic_name, batch_max_records=700)
    ensure_topic(settings, topic_name, partitions=3)
    produce_events(settings, make_events(3000))
    stats = run_ingest(settings)
    assert stats.stopped_because == "caught up"
    assert stats.records_read == 3000
    assert stats.records_written == 3000
    assert stats.flushes >= 3000 // 700
    counts = event_id_counts(settings)
    assert len(counts) == 3000
    assert set(counts.values()) == {1}


def test_lake_rows_carry_lineage(tmp_path, topic_name, kafka_bootstrap):
    settings = settings_for(tmp_path, topic_name)
    ensure_topic(settings, topic_name, partitions=2)
    produce_events(settings, make_events(50))
    run_ingest(settings)
    rows = lake_rows(settings)
    assert len(rows) == 50
    assert {row["source_topic"] for row in rows} == {topic_name}
    assert {row["source_partition"] for row in rows} <= {0, 1}
    assert all(row["ingested_at"] is not None for row in rows)
    for partition in (0, 1):
        offsets = sorted(r["source_offset"] for r in rows if r["source_partition"] == partition)
        assert offsets == list(range(len(offsets)))


def test_files_zstd_with_one_row_group(tmp_path, topic_name, kafka_bootstrap):
    settings = settings_for(tmp_path, topic_name)
    ensure_topic(settings, topic_name, partitions=1)
    produce_events(settings, make_events(5000, days=1))
    run_ingest(settings)
    (path,) = settings.decisions_dir.glob("event_date=*/*.parquet")
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_rows == 5000
    assert metadata.num_row_groups == 1
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    parsed = parse_ingest_file(path)
    assert (parsed.topic, parsed.partition) == (topic_name, 0)
    assert (parsed.first_offset, parsed.last_offset) == (0, 4999)


def test_offsets_committed_after_flush(tmp_path, topic_name, kafka_bootstrap):
    settings = settings_for(tmp_path, topic_name)
    ensure_topic(settings, topic_name, partitions=2)
    produce_events(settings, make_events(400))
    stats = run_ingest(settings)
    group_offsets = _group_offsets(kafka_bootstrap, settings.consumer_group, topic_name)
    assert group_offsets == stats.committed_offsets
    assert sum(group_offsets.values()) == 400
    recorded = committed_offsets(settings.lake_dir)
    assert {p: o for (t, p), o in recorded.items() if t == topic_name} == group_offsets


def test_second_run_reads_nothing_new(tmp_path, topic_name, kafka_bootstrap):
    settings = settings_for(tmp_path, topic_name)
    ensure_topic(settings, topic_name, partitions=2)
    produce_events(settings, make_events(300))
    run_ingest(settings)
    again = run_ingest(settings)
    assert again.records_read == 0
    assert again.files_written == 0


class _CrashBeforeCommit(IngestWorker):
    """A worker that stops right after its files are durable, before the Kafka commit."""

    def _commit(self, result):
        raise SystemExit("stopped between the durable write and the commit")


def test_uncommitted_files_replaced_on_restart(tmp_path, topic_name, kafka_bootstrap):
    settings = settings_for(tmp_path, topic_name, batch_max_records=250)
    ensure_topic(settings, topic_name, partitions=2)
    produce_events(settings, make_events(1000))
    with pytest.raises(SystemExit):
        _CrashBeforeCommit(settings).run()
    left_behind = list(settings.decisions_dir.glob("event_date=*/*.parquet"))
    assert left_behind

    stats = run_ingest(settings)
    assert stats.stale_files_removed == len(left_behind)
    assert stats.records_read == 1000
    counts = event_id_counts(settings)
    assert len(counts) == 1000
    assert set(counts.values()) == {1}


def test_sigterm_flushes_and_commits(tmp_path, topic_name, kafka_bootstrap):
    data_dir = tmp_path / "data"
    config = write_config(tmp_path / "config.yaml", topic_name, f"group-{topic_name}")
    settings = settings_for(data_dir, topic_name)
    ensure_topic(settings, topic_name, partitions=2)
    produce_events(settings, make_events(500))
    log_path = tmp_path / "worker.log"
    worker = start_worker(data_dir, config, log_path)
    deadline = time.monotonic() + 120
    while "assigned partitions" not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # let the worker poll some records, which stay buffered (30 s age limit)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    stats = json.loads(log_path.read_text().strip().splitlines()[-1])
    assert stats["stopped_because"] == "stop requested"
    assert stats["records_written"] == sum(stats["committed_offsets"].values())
    assert len(event_id_counts(settings)) == stats["records_written"]
