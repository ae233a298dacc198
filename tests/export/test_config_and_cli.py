"""Sink configuration checks and the `agentaudit export` command on a real warehouse file."""

from __future__ import annotations

import json

import duckdb
import pytest
import yaml
from click.testing import CliRunner

from detections.export import ExportConfigError, run_export
from detections.export.config import parse_sinks
from detections.export.ledger import ensure_tables
from pipelines.cli.main import cli
from pipelines.settings import DEFAULT_CONFIG

from .alert_rows import alert_row, insert_alerts

FILE = {"type": "ocsf_file", "path": "a"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"type": "kafka"}, "invalid type 'kafka'"),
        ({"type": "splunk_hec", "url": "http://127.0.0.1:1"}, "missing required key(s) token_env"),
        ({**FILE, "token": "abc"}, "unknown key(s) token"),
        ({**FILE, "enabled": "yes"}, "enabled must be true or false"),
        ({**FILE, "retry": {"max_attempts": 0}}, "retry.max_attempts"),
        ({**FILE, "timeout_seconds": -1}, "timeout_seconds"),
        ({"type": "syslog", "host": "127.0.0.1", "port": "514"}, "port must be an integer"),
        ({"type": "syslog", "host": "127.0.0.1", "port": 514, "format": "json"}, "invalid format"),
        ({"type": "webhook", "url": "ftp://127.0.0.1/x"}, "url must start with"),
    ],
)
def test_invalid_sink_config_rejected(entry, message):
    with pytest.raises(ExportConfigError) as caught:
        parse_sinks({"x": entry})
    assert message in str(caught.value)
    assert "'x'" in str(caught.value)


def test_shipped_config_is_valid():
    sinks = parse_sinks(yaml.safe_load(DEFAULT_CONFIG.read_text())["sinks"])
    enabled = {sink.name for sink in sinks if sink.enabled}
    assert enabled == {"ocsf_file", "ecs_file"}
    assert {sink.type for sink in sinks} == {
        "ocsf_file", "ecs_bulk_file", "splunk_hec", "syslog", "webhook"
    }  # fmt: skip


def test_disabled_or_unknown_sink_name_rejected(con, tmp_path):
    insert_alerts(con, [alert_row(1)])
    sinks = {"hook": {"type": "webhook", "url": "http://127.0.0.1:1", "enabled": False}}

    with pytest.raises(ExportConfigError, match="disabled"):
        run_export(con, sinks, sink_names=["hook"])
    with pytest.raises(ExportConfigError, match="not found"):
        run_export(con, sinks, sink_names=["nope"])


def test_ensure_tables_is_idempotent(con):
    ensure_tables(con)
    ensure_tables(con)
    columns = [row[0] for row in con.execute("DESCRIBE deliveries").fetchall()]
    assert columns == [
        "alert_id", "sink", "content_hash", "status", "attempts", "last_error",
        "first_attempt_at", "last_attempt_at", "sent_at",
    ]  # fmt: skip


@pytest.fixture
def environment(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    config = {
        "sinks": {
            "ocsf_file": {"type": "ocsf_file", "path": "alerts/ocsf.ndjson"},
            "ecs_file": {"type": "ecs_bulk_file", "path": "alerts/ecs.ndjson"},
            "splunk": {"type": "splunk_hec", "enabled": False, "url": "http://127.0.0.1:1",
                       "token_env": "AGENTAUDIT_TEST_UNSET_TOKEN"},
        }
    }  # fmt: skip
    config_path = tmp_path / "agentaudit.yaml"
    config_path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("AGENTAUDIT_CONFIG", str(config_path))
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        insert_alerts(con, [alert_row(n) for n in range(3)])
    return data_dir


def test_cli_export_json_then_rerun(environment):
    runner = CliRunner()

    first = runner.invoke(cli, ["export", "--json"])
    second = runner.invoke(cli, ["export", "--json"])

    assert first.exit_code == 0, first.output
    counts = {sink["name"]: sink for sink in json.loads(first.output)["sinks"]}
    assert counts["ocsf_file"]["sent"] == 3
    assert counts["ecs_file"]["sent"] == 3
    assert "splunk" not in counts
    assert len((environment / "alerts" / "ocsf.ndjson").read_text().splitlines()) == 3
    assert second.exit_code == 0
    rerun = {sink["name"]: sink for sink in json.loads(second.output)["sinks"]}
    assert rerun["ocsf_file"]["sent"] == 0
    assert rerun["ocsf_file"]["unchanged"] == 3


def test_cli_dry_run_prints_records(environment):
    result = CliRunner().invoke(cli, ["export", "--dry-run", "--sink", "ocsf_file"])

    assert result.exit_code == 0, result.output
    assert result.output.count("# ocsf_file create ") == 3
    assert '"class_uid":2004' in result.output
    assert not (environment / "alerts").exists()


def test_cli_disabled_sink_is_an_error(environment):
    result = CliRunner().invoke(cli, ["export", "--sink", "splunk"])

    assert result.exit_code == 1
    assert "sink 'splunk' is disabled" in result.output


def test_invalid_option_stops_before_sending(con, tmp_path):
    insert_alerts(con, [alert_row(1)])
    sinks = {
        "ocsf": {"type": "ocsf_file", "path": str(tmp_path / "ocsf.ndjson")},
        "qradar": {"type": "syslog", "enabled": True, "host": "127.0.0.1", "port": 514,
                   "format": "leef", "leef_delimiter": "="},
    }  # fmt: skip

    with pytest.raises(ExportConfigError, match="invalid LEEF delimiter"):
        run_export(con, sinks)

    assert not (tmp_path / "ocsf.ndjson").exists()


def test_cli_missing_warehouse_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AGENTAUDIT_CONFIG", str(DEFAULT_CONFIG))

    result = CliRunner().invoke(cli, ["export"])

    assert result.exit_code == 1
    assert "no warehouse at" in result.output
    assert not (tmp_path / "warehouse.duckdb").exists()
