"""Scale-out: ingest workers in one consumer group share a 6-partition topic.

Covers two workers splitting the partitions, a worker joining mid-run and a worker killed
mid-run. After each, the lake holds every event_id exactly once.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.kafka.producer import ensure_topic, produce_events
from tests.kafka.events import make_events
from tests.kafka.lake import settings_for
from tests.kafka.workers import start_worker, write_config

pytestmark = pytest.mark.integration

WAIT_SECONDS = 180
# A 6 s session lets the surviving worker take a killed worker's partitions quickly.
GROUP_TUNING = {
    "batch_max_records": 1500,
    "batch_max_seconds": 1,
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 1000,
}
ASSIGNED = re.compile(r"assigned partitions \[([0-9, ]*)\]")


def wait_until(condition, what: str, processes=()) -> None:
    """Poll `condition` until true; fail if a worker exits first or it never holds."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"a worker exited with {process.returncode} before {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {WAIT_SECONDS} s waiting for {what}")


def last_assignment(log_path: Path) -> list[int] | None:
    found = ASSIGNED.findall(log_path.read_text(errors="replace")) if log_path.exists() else []
    if not found:
        return None
    return [int(p) for p in found[-1].split(",") if p.strip()]


def lake_counts(decisions_dir: Path) -> tuple[int, int]:
    """Return (rows, distinct event_ids) in the lake; retries while files are replaced."""
    for _ in range(20):
        files = sorted(decisions_dir.glob("event_date=*/*.parquet"))
        if not files:
            return 0, 0
        try:
            with duckdb.connect() as con:
                return con.execute(
                    "SELECT count(*), count(DISTINCT event_id) FROM read_parquet(?)",
                    [[str(path) for path in files]],
                ).fetchone()
        except (duckdb.IOException, duckdb.InvalidInputException):
            time.sleep(0.1)  # a file was removed between the listing and the read
    raise AssertionError("lake files kept changing while counting")


def stop(worker: subprocess.Popen, log_path: Path) -> dict:
    """Stop a worker with SIGTERM and return the stats line it prints."""
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0, log_path.read_text(errors="replace")[-3000:]
    return json.loads(log_path.read_text().strip().splitlines()[-1])


@pytest.fixture
def group_setup(tmp_path, topic_name, kafka_bootstrap):
    data_dir = tmp_path / "data"
    group = f"group-{topic_name}"
    config = write_config(tmp_path / "config.yaml", topic_name, group, **GROUP_TUNING)
    settings = settings_for(data_dir, topic_name, group=group, **GROUP_TUNING)
    ensure_topic(settings, topic_name, partitions=6)
    return settings, config


def test_two_workers_share_partitions(tmp_path, group_setup):
    settings, config = group_setup
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [start_worker(settings.data_dir, config, log) for log in logs]
    try:
        wait_until(
            lambda: all(len(last_assignment(log) or []) == 3 for log in logs),
            "both workers to hold 3 partitions",
            workers,
        )
        produce_events(settings, make_events(12_000))
        wait_until(
            lambda: lake_counts(settings.decisions_dir)[1] == 12_000, "12000 events", workers
        )
        shares = [last_assignment(log) for log in logs]
    finally:
        stats = [stop(worker, log) for worker, log in zip(workers, logs, strict=True)]
    assert sorted(shares[0] + shares[1]) == list(range(6))
    assert all(item["records_written"] > 0 for item in stats)
    assert lake_counts(settings.decisions_dir) == (12_000, 12_000)


def test_worker_joining_mid_run(tmp_path, group_setup):
    settings, config = group_setup
    produce_events(settings, make_events(30_000))
    first_log, second_log = tmp_path / "a.log", tmp_path / "b.log"
    first = start_worker(settings.data_dir, config, first_log)
    workers = [first]
    try:
        wait_until(lambda: " flush " in first_log.read_text(), "a first flush", workers)
        workers.append(start_worker(settings.data_dir, config, second_log))
        wait_until(
            lambda: lake_counts(settings.decisions_dir)[1] == 30_000, "30000 events", workers
        )
    finally:
        logs = [first_log, second_log][: len(workers)]
        stats = [stop(worker, log) for worker, log in zip(workers, logs, strict=True)]
    assert len(stats) == 2
    assert last_assignment(second_log), "the second worker never received partitions"
    rows, distinct = lake_counts(settings.decisions_dir)
    print(f"\njoin mid-run: rows={rows} distinct={distinct} duplicates={rows - distinct}")
    assert distinct == 30_000
    assert rows == 30_000


def test_worker_killed_mid_run(tmp_path, group_setup):
    settings, config = group_setup
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [start_worker(settings.data_dir, config, log) for log in logs]
    survivor, victim = workers
    try:
        wait_until(
            lambda: all(len(last_assignment(log) or []) == 3 for log in logs),
            "both workers to hold 3 partitions",
            workers,
        )
        produce_events(settings, make_events(30_000))
        wait_until(lambda: " flush " in logs[1].read_text(), "a flush by the victim", workers)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        wait_until(
            lambda: lake_counts(settings.decisions_dir)[1] == 30_000, "30000 events", [survivor]
        )
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
        stats = stop(survivor, logs[0])
    assert last_assignment(logs[0]) == list(range(6))
    rows, distinct = lake_counts(settings.decisions_dir)
    print(
        f"\nkilled mid-run: rows={rows} distinct={distinct} duplicates={rows - distinct} "
        f"survivor removed {stats['stale_files_removed']} uncommitted files"
    )
    assert distinct == 30_000
    assert rows == 30_000
