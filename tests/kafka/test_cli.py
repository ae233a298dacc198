"""The ingest path's CLI: produce-file, then ingest, with JSON output for scripts."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.kafka.producer import encode_event
from tests.kafka.events import make_event

pytestmark = pytest.mark.integration


def test_produce_file_then_ingest(tmp_path, topic_name, kafka_bootstrap, monkeypatch):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(tmp_path / "data"))
    events = tmp_path / "events.ndjson"
    lines = [encode_event(make_event(1)), b"not json", b"", encode_event(make_event(2))]
    events.write_bytes(b"\n".join(lines) + b"\n")
    runner = CliRunner()

    produced = runner.invoke(cli, ["produce-file", str(events), "--topic", topic_name, "--json"])
    assert produced.exit_code == 0, produced.output
    assert json.loads(produced.output)["produced"] == 3

    group = f"group-{topic_name}"
    ingested = runner.invoke(cli, ["ingest", "--topic", topic_name, "--group", group, "--json"])
    assert ingested.exit_code == 0, ingested.output
    stats = json.loads(ingested.output)
    assert stats["records_read"] == 3
    assert stats["records_written"] == 2
    assert stats["records_quarantined"] == 1
    assert stats["stopped_because"] == "caught up"


def test_produce_file_missing_file(tmp_path):
    result = CliRunner().invoke(cli, ["produce-file", str(tmp_path / "absent.ndjson")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
