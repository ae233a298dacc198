"""Quarantine list and replay: held messages re-validated with the current configuration.

Covers replay into the lake with the original lineage, the ledger that stops a second
replay, messages that stay invalid, an interrupted replay, and the CLI output.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.kafka.ingest import run_ingest
from pipelines.kafka.producer import encode_event, ensure_topic, produce_raw
from pipelines.kafka.quarantine import replay_quarantine
from pipelines.settings import load_settings
from tests.kafka.events import make_event
from tests.kafka.lake import lake_rows, quarantine_rows, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
def held(tmp_path, topic_name, kafka_bootstrap):
    """Ingest two events 30 hours ahead (held by the 24-hour skew) and one invalid JSON."""
    settings = settings_for(tmp_path, topic_name)
    ensure_topic(settings, topic_name, partitions=1)
    ahead = (datetime.now(UTC) + timedelta(hours=30)).isoformat()
    values = [
        encode_event(make_event(1)),
        encode_event(make_event(2, event_time=ahead)),
        b"{broken",
        encode_event(make_event(3, event_time=ahead)),
    ]
    produce_raw(settings, values, topic=topic_name)
    stats = run_ingest(settings)
    assert stats.records_quarantined == 3
    return settings


def _with_skew(settings, hours: int):
    relaxed = load_settings(
        kafka=settings.section("kafka"), ingest={"max_future_skew_hours": hours}
    )
    return dataclasses.replace(relaxed, data_dir=settings.data_dir)


def test_replay_moves_now_valid_records_to_lake(held):
    stats = replay_quarantine(_with_skew(held, 48))
    assert stats.replayed == 2
    assert stats.still_invalid == 1
    replayed = [
        row
        for row in lake_rows(held)
        if row["filename"].endswith(f"replay+{stats.replay_id}.parquet")
    ]
    assert sorted(row["event_id"] for row in replayed) == ["ev-00000002", "ev-00000003"]
    assert sorted(row["source_offset"] for row in replayed) == [1, 3]
    assert {row["source_topic"] for row in replayed} == {held.topic}
    assert {row["source_partition"] for row in replayed} == {0}


def test_replay_never_replays_a_record_twice(held):
    relaxed = _with_skew(held, 48)
    first = replay_quarantine(relaxed)
    second = replay_quarantine(relaxed)
    assert first.replayed == 2
    assert second.replayed == 0
    assert second.skipped_already_replayed == 2
    assert second.still_invalid == 1
    ids = [row["event_id"] for row in lake_rows(held)]
    assert sorted(ids) == ["ev-00000001", "ev-00000002", "ev-00000003"]


def test_replay_with_same_rules_keeps_records_held(held):
    stats = replay_quarantine(held)
    assert stats.replayed == 0
    assert stats.still_invalid == 3
    assert len(quarantine_rows(held)) == 3


def test_interrupted_replay_rolled_back(held):
    relaxed = _with_skew(held, 48)
    first = replay_quarantine(relaxed)
    ledger = held.lake_dir / "_state" / "replay_ledger" / f"{first.replay_id}.parquet"
    ledger.unlink()  # as if the process died after the lake files, before the ledger
    second = replay_quarantine(relaxed)
    assert second.rolled_back_files == len(first.files)
    assert second.replayed == 2
    ids = sorted(row["event_id"] for row in lake_rows(held))
    assert ids == ["ev-00000001", "ev-00000002", "ev-00000003"]


def test_quarantine_list_json(held, monkeypatch):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(held.data_dir))
    result = CliRunner().invoke(cli, ["quarantine", "list", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    assert listing["summary"]["total"] == 3
    assert listing["summary"]["by_field"] == {"event_time": 2, "-": 1}
    assert [row["offset"] for row in listing["rows"]] == [1, 2, 3]
    assert listing["rows"][1]["value_preview"] == "{broken"


def test_quarantine_list_table(held, monkeypatch):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(held.data_dir))
    result = CliRunner().invoke(cli, ["quarantine", "list"])
    assert result.exit_code == 0, result.output
    assert "3 quarantined messages, 0 replayed" in result.output
