"""Crash safety of the ingest worker: SIGKILL at random instants loses and doubles nothing.

The harness produces N numbered events, starts the worker as a subprocess, kills it with
SIGKILL at a seeded random instant after it joined the group, restarts it, K times, then
runs it to caught-up. The lake must then contain every event_id, once after deduplication
by event_id. The test also counts duplicate rows in the lake and requires zero, because a
restarted worker removes uncommitted files before it reads again.

Default run: 20,000 events and 5 kills. Full run (about 5 minutes on 2 cores):

    .venv/bin/pytest -m slow tests/kafka/test_crash_safety.py -s
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.kafka.ingest import run_ingest
from pipelines.kafka.producer import ensure_topic, produce_events
from tests.kafka.events import make_events
from tests.kafka.lake import settings_for
from tests.kafka.workers import start_worker, write_config

pytestmark = pytest.mark.integration

JOIN_TIMEOUT_SECONDS = 120
SMALL_BATCH = {"batch_max_records": 1000, "batch_max_seconds": 2}


def wait_for_line(log_path: Path, text: str, process, timeout: float) -> None:
    """Block until `text` appears in the worker log; fail if the worker exits or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_path.exists() and text in log_path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise AssertionError(f"worker exited with {process.returncode}; see {log_path}")
        time.sleep(0.05)
    raise AssertionError(f"worker did not log {text!r} within {timeout} s; see {log_path}")


def lake_summary(decisions_dir: Path, expected: int) -> dict[str, int]:
    """Count lake rows, distinct event_ids, produced ids missing, ids stored more than once."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE produced AS SELECT printf('ev-%08d', i) AS event_id FROM range(?) t(i)",
        [expected],
    )
    con.execute(
        "CREATE TABLE lake AS SELECT event_id FROM read_parquet(?, hive_partitioning = false)",
        [str(decisions_dir / "event_date=*" / "*.parquet")],
    )
    rows, distinct = con.execute("SELECT count(*), count(DISTINCT event_id) FROM lake").fetchone()
    missing = con.execute(
        "SELECT count(*) FROM produced p ANTI JOIN lake l USING (event_id)"
    ).fetchone()[0]
    doubled = con.execute(
        "SELECT count(*) FROM (SELECT event_id FROM lake GROUP BY event_id HAVING count(*) > 1)"
    ).fetchone()[0]
    return {"rows": rows, "distinct": distinct, "missing": missing, "doubled_ids": doubled}


def run_crash_harness(tmp_path: Path, topic: str, events: int, kills: int, seed: int) -> dict:
    data_dir = tmp_path / "data"
    group = f"group-{topic}"
    config = write_config(tmp_path / "config.yaml", topic, group, **SMALL_BATCH)
    settings = settings_for(data_dir, topic, group=group, **SMALL_BATCH)
    ensure_topic(settings, topic, partitions=6)
    produce_events(settings, make_events(events))

    rng = random.Random(seed)
    kill_delays = []
    for attempt in range(kills):
        log_path = tmp_path / f"worker-{attempt}.log"
        worker = start_worker(data_dir, config, log_path, instance_id="crash-worker")
        try:
            wait_for_line(log_path, "assigned partitions", worker, JOIN_TIMEOUT_SECONDS)
            delay = rng.uniform(0.0, 5.0)
            kill_delays.append(round(delay, 3))
            time.sleep(delay)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()

    logs = "".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("worker-*.log")))
    final_settings = settings_for(
        data_dir, topic, group=group, group_instance_id="crash-worker", **SMALL_BATCH
    )
    final = run_ingest(final_settings)
    summary = lake_summary(settings.decisions_dir, events)
    summary.update(
        kills=kills,
        flushes_before_kills=logs.count(" flush "),
        cleanups_after_kills=logs.count("removed ") + (1 if final.stale_files_removed else 0),
        final_run_read=final.records_read,
        final_quarantined=final.records_quarantined,
    )
    print(f"\ncrash harness: events={events} seed={seed} kill delays={kill_delays} {summary}")
    return summary


def assert_nothing_lost_or_doubled(summary: dict, events: int) -> None:
    assert summary["missing"] == 0
    assert summary["distinct"] == events
    assert summary["doubled_ids"] == 0
    assert summary["rows"] == events
    assert summary["final_quarantined"] == 0


def test_kills_lose_and_double_nothing(tmp_path, topic_name, kafka_bootstrap):
    summary = run_crash_harness(tmp_path, topic_name, events=20_000, kills=5, seed=20261204)
    assert_nothing_lost_or_doubled(summary, 20_000)


@pytest.mark.slow
def test_twenty_kills_over_large_backlog(tmp_path, topic_name, kafka_bootstrap):
    summary = run_crash_harness(tmp_path, topic_name, events=200_000, kills=20, seed=7)
    assert_nothing_lost_or_doubled(summary, 200_000)
