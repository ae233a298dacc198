"""The `agentaudit rules` commands, run in-process through click."""

from __future__ import annotations

import json

from click.testing import CliRunner

from detections.runner import run_detections
from pipelines.cli.main import cli
from tests.detections.helpers import FIXTURE_NOW, RUN_TIME
from tests.detections.test_advice import EVENTS
from tests.helpers.lake import warehouse_from_events


def test_rules_lint_passes():
    result = CliRunner().invoke(cli, ["rules", "lint"])
    assert result.exit_code == 0, result.output
    assert "10 rules valid" in result.output


def test_rules_list_shows_thresholds():
    result = CliRunner().invoke(cli, ["rules", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["rule_id"]: row for row in json.loads(result.output)}
    assert len(rows) == 10
    assert "min_denials=5" in rows["policy_denial_burst"]["thresholds"]


def test_rules_catalog_check_detects_stale_file(tmp_path):
    stale = tmp_path / "detections.md"
    stale.write_text("# old\n")
    result = CliRunner().invoke(cli, ["rules", "catalog", "--check", "--output", str(stale)])
    assert result.exit_code == 1
    written = CliRunner().invoke(cli, ["rules", "catalog", "--output", str(stale)])
    assert written.exit_code == 0
    again = CliRunner().invoke(cli, ["rules", "catalog", "--check", "--output", str(stale)])
    assert again.exit_code == 0


def test_rules_advise_reads_warehouse(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    con = warehouse_from_events(EVENTS, data_dir, now=FIXTURE_NOW)
    run_detections(con, thresholds={}, suppressions=[], boundaries={}, now=RUN_TIME)
    con.close()
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(cli, ["rules", "advise", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["scope"]: row for row in json.loads(result.output)}
    assert rows["crm.export"]["safe_to_remove"] is False
    assert rows["wiki.read"]["safe_to_remove"] is True
