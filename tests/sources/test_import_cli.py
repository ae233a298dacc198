"""`agentaudit import cloudtrail|otel`: the dry run without Kafka, then delivery through Kafka.

The integration tests produce to a topic of their own, run the ingest worker on it and
check that every mapped event reached the lake once and every rejected record reached
quarantine with its bytes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pytest
from click.testing import CliRunner

from detections.runner import run_detections
from pipelines.cli.main import cli
from pipelines.kafka.ingest import run_ingest
from pipelines.sources.common import QUARANTINE_MARKER
from tests.kafka.lake import event_id_counts, lake_rows, quarantine_rows, settings_for
from tests.sources.samples import ENTRA_AUDIT, FEDERATION, OTEL_TRACES, map_files
from transforms.identity import build_identity_model
from transforms.load import ensure_schema, load_lake


def _invoke(*arguments):
    result = CliRunner().invoke(cli, ["import", *arguments], catch_exceptions=False)
    return result


def test_dry_run_prints_mapped_events():
    result = _invoke("cloudtrail", "--dry-run", str(FEDERATION))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    events = [json.loads(line) for line in lines]
    assert events == map_files(FEDERATION)[0]
    assert "cloudtrail: read 2 records from 1 files, mapped 7 events" in result.stderr


def test_dry_run_json_summary_counts_rejects():
    result = _invoke("cloudtrail", "--dry-run", "--json", str(FEDERATION), str(ENTRA_AUDIT))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary["records_read"] == 6
    assert summary["records_mapped"] == 2
    assert summary["rejected"] == 4
    assert summary["events_mapped"] == 7
    assert summary["events_produced"] == 0
    assert summary["reasons"] == {"not a CloudTrail record: eventSource or eventName missing": 4}


def test_otel_dry_run():
    result = _invoke("otel", "--dry-run", str(OTEL_TRACES))
    assert result.exit_code == 0, result.output
    assert len([line for line in result.stdout.splitlines() if line.startswith("{")]) == 22
    assert "rejected 3" in result.stderr


def test_missing_file_is_usage_error():
    result = CliRunner().invoke(cli, ["import", "cloudtrail", "/nonexistent/trail.json"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.integration
def test_cloudtrail_import_reaches_lake_and_quarantine(
    tmp_path, topic_name, kafka_bootstrap, monkeypatch
):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(tmp_path))
    result = _invoke(
        "cloudtrail", "--json", "--topic", topic_name, str(FEDERATION), str(ENTRA_AUDIT)
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["events_produced"] == 7
    assert summary["records_quarantined"] == 4

    settings = settings_for(tmp_path, topic_name)
    stats = run_ingest(settings)
    assert stats.records_written == 7
    assert stats.records_quarantined == 4
    expected_ids = {event["event_id"] for event in map_files(FEDERATION)[0]}
    assert event_id_counts(settings) == dict.fromkeys(expected_ids, 1)
    assert all(row["redacted_fields"] is None for row in lake_rows(settings))
    quarantined = quarantine_rows(settings)
    assert len(quarantined) == 4
    for row in quarantined:
        header, body = row["raw_value"].split(b"\n", 1)
        assert header.startswith(QUARANTINE_MARKER)
        assert b"not a CloudTrail record" in header
        assert "OperationName" in json.loads(body)


@pytest.mark.integration
def test_reimport_adds_no_new_event_ids(tmp_path, topic_name, kafka_bootstrap, monkeypatch):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(tmp_path))
    for _ in range(2):
        assert _invoke("otel", "--topic", topic_name, str(OTEL_TRACES)).exit_code == 0
    settings = settings_for(tmp_path, topic_name)
    run_ingest(settings)
    counts = event_id_counts(settings)
    # The lake keeps both deliveries; ids repeat exactly, so the loader keeps one copy.
    assert len(counts) == 22
    assert set(counts.values()) == {2}


@pytest.mark.integration
def test_imported_token_alerts_after_kafka(tmp_path, topic_name, kafka_bootstrap, monkeypatch):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(tmp_path))
    assert _invoke("cloudtrail", "--topic", topic_name, str(FEDERATION)).exit_code == 0
    settings = settings_for(tmp_path, topic_name)
    run_ingest(settings)

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        ensure_schema(con)
        load_lake(con, settings.decisions_dir)
        build_identity_model(con)
        run_detections(
            con, thresholds={}, suppressions=[], boundaries={}, as_of="2024-11-30T09:00:00Z"
        )
        alerts = set(con.execute("SELECT rule_id, entity_id FROM alerts").fetchall())
        credential = con.execute(
            "SELECT expires_at, issued_task_id IS NOT NULL FROM credentials "
            "WHERE credential_id = 'ASIASTJKC5GCM7ZE6LUP'"
        ).fetchone()
    finally:
        con.close()
    assert ("credential_outlives_task", "ASIASTJKC5GCM7ZE6LUP") in alerts
    assert credential[0] == datetime(2024, 11, 30, 20, 43, 17, tzinfo=UTC)
    assert credential[1] is True
