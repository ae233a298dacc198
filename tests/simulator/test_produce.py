"""`agentaudit simulate` through the real Kafka broker and the ingest worker into the lake."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.kafka.ingest import run_ingest
from pipelines.kafka.producer import ensure_topic
from pipelines.sources.simulator import simulate_fleet
from tests.kafka.lake import event_id_counts, settings_for

pytestmark = pytest.mark.integration


def test_simulated_events_reach_lake_once(tmp_path, monkeypatch, topic_name, kafka_bootstrap):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(tmp_path))
    settings = settings_for(tmp_path, topic_name)
    ensure_topic(settings, topic_name, partitions=3)
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            "--seed",
            "8",
            "--days",
            "2",
            "--agents-per-kind",
            "1",
            "--topic",
            topic_name,
            "--produce",
        ],
    )
    assert result.exit_code == 0, result.output
    expected = {e["event_id"] for e in simulate_fleet(seed=8, days=2, agents_per_kind=1)}
    assert f"produced {len(expected)} events" in result.output

    stats = run_ingest(settings)
    assert stats.records_quarantined == 0
    counts = event_id_counts(settings)
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    assert (tmp_path / "simulation" / "ground_truth.jsonl").exists()
