"""Broker stop and restart in the middle of ingest, on a private broker.

The test starts its own broker on another port and data folder, so the shared broker on
9092 keeps running. The worker must ride out the outage and still leave every event in
the lake exactly once.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import time

import pytest

from pipelines.kafka import broker
from pipelines.kafka.producer import ensure_topic, produce_events
from tests.kafka.events import make_events
from tests.kafka.lake import event_id_counts, settings_for
from tests.kafka.workers import start_worker, write_config

# Two broker starts cost over a minute, so the test runs with the slow tests:
#     .venv/bin/pytest -m slow tests/kafka/test_broker_restart.py -s
pytestmark = [pytest.mark.integration, pytest.mark.slow]

PRIVATE_PORT = 19192
WAIT_SECONDS = 240


@pytest.fixture
def private_broker():
    instance = broker.BrokerInstance(PRIVATE_PORT)
    broker.reset(instance)
    bootstrap = broker.start(instance)
    yield instance, bootstrap
    broker.reset(instance)


def _wait(condition, what: str, worker) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        assert worker.poll() is None, f"worker exited with {worker.returncode} before {what}"
        time.sleep(0.2)
    raise AssertionError(f"timed out after {WAIT_SECONDS} s waiting for {what}")


def _distinct_events(settings) -> int:
    for _ in range(20):
        try:
            return len(event_id_counts(settings))
        except Exception:  # a file replaced between listing and reading; count again
            time.sleep(0.1)
    raise AssertionError("lake files kept changing while counting")


def test_broker_restart_mid_ingest(tmp_path, topic_name, private_broker):
    instance, bootstrap = private_broker
    data_dir = tmp_path / "data"
    group = f"group-{topic_name}"
    tuning = {"batch_max_records": 1000, "batch_max_seconds": 1}
    config = write_config(tmp_path / "config.yaml", topic_name, group, **tuning)
    settings = dataclasses.replace(
        settings_for(data_dir, topic_name, group=group, **tuning),
        bootstrap_servers=bootstrap,
        external_kafka=True,
    )
    ensure_topic(settings, topic_name, partitions=6)
    produce_events(settings, make_events(40_000))

    log_path = tmp_path / "worker.log"
    worker = start_worker(data_dir, config, log_path, bootstrap=bootstrap)
    try:
        _wait(lambda: " flush " in log_path.read_text(), "a first flush", worker)
        assert broker.stop(instance, kill=True)  # an unclean stop, as in a crash
        time.sleep(3)  # the outage: the worker polls a dead broker meanwhile
        broker.start(instance)
        _wait(lambda: _distinct_events(settings) == 40_000, "40000 events after restart", worker)
    finally:
        worker.send_signal(signal.SIGTERM)
        exit_code = worker.wait(timeout=120)
    assert exit_code == 0, log_path.read_text(errors="replace")[-3000:]
    stats = json.loads(log_path.read_text().strip().splitlines()[-1])
    counts = event_id_counts(settings)
    print(
        f"\nbroker restart: rows={sum(counts.values())} distinct={len(counts)} "
        f"commit failures={stats['commit_failures']}"
    )
    assert len(counts) == 40_000
    assert set(counts.values()) == {1}
