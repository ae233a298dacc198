"""Memory of the ingest worker stays flat as the backlog grows.

The worker runs as a subprocess over a backlog of 10,000 and then 50,000 events with a
2,500-record buffer, and psutil samples its resident set size until it exits. Five times the
backlog must not come near five times the memory: the assertion is a generous structural
bound (under twice the small run's peak), not a measurement of speed.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from pipelines.kafka.producer import ensure_topic, produce_events
from tests.kafka.events import make_events
from tests.kafka.lake import event_id_counts, settings_for
from tests.kafka.workers import start_worker, write_config

pytestmark = pytest.mark.integration

BUFFER = {"batch_max_records": 2500, "batch_max_seconds": 30}


def peak_rss_of_ingest(tmp_path: Path, topic: str, events: int) -> tuple[int, int]:
    """Ingest `events` events in a subprocess; return (peak RSS in bytes, events in the lake)."""
    data_dir = tmp_path / topic / "data"
    group = f"group-{topic}"
    config = write_config(tmp_path / f"{topic}.yaml", topic, group, **BUFFER)
    settings = settings_for(data_dir, topic, group=group, **BUFFER)
    ensure_topic(settings, topic, partitions=6)
    produce_events(settings, make_events(events, reason="r" * 200))
    worker = start_worker(data_dir, config, tmp_path / f"{topic}.log", follow=False)
    process = psutil.Process(worker.pid)
    peak = 0
    while worker.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    assert worker.returncode == 0
    return peak, len(event_id_counts(settings))


def test_peak_memory_flat_with_larger_backlog(tmp_path, topic_name, kafka_bootstrap):
    small_peak, small_count = peak_rss_of_ingest(tmp_path, f"{topic_name}.small", 10_000)
    large_peak, large_count = peak_rss_of_ingest(tmp_path, f"{topic_name}.large", 50_000)
    print(
        f"\npeak RSS: 10,000 events {small_peak / 2**20:.0f} MiB, "
        f"50,000 events {large_peak / 2**20:.0f} MiB"
    )
    assert small_count == 10_000
    assert large_count == 50_000
    assert large_peak < 2 * small_peak
