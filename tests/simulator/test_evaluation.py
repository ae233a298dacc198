"""Scoring, the simulate and evaluate commands, and a small end-to-end evaluation.

The end-to-end test runs the real path on a ten-day fleet: contract, Parquet lake, DuckDB
load, identity model and every detection rule with the configured thresholds and
boundaries. The slow test repeats it at the default scale of `agentaudit evaluate`
(`.venv/bin/pytest -m slow tests/simulator`).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.evaluation import evaluate_fleet, score
from pipelines.settings import load_settings
from pipelines.sources.simulator import load_ground_truth, simulate_fleet


def test_score_counts_and_ids():
    truth = [
        {"rule_id": "unused_grant", "entity_id": "sa:a"},
        {"rule_id": "unused_grant", "entity_id": "sa:b"},
        {"rule_id": "secret_in_event", "entity_id": "agent-1"},
    ]
    alerts = [("unused_grant", "sa:a"), ("unused_grant", "sa:c"), ("unused_grant", "sa:a")]
    scores = score(alerts, truth)
    unused = scores["unused_grant"]
    assert (unused.true_positives, unused.false_positives, unused.false_negatives) == (1, 1, 1)
    assert unused.precision == 0.5
    assert unused.recall == 0.5
    assert unused.f1 == 0.5
    assert unused.false_positive_ids == ["sa:c"]
    assert unused.false_negative_ids == ["sa:b"]
    secret = scores["secret_in_event"]
    assert secret.precision == 1.0
    assert secret.recall == 0.0
    assert secret.f1 == 0.0


def test_score_rule_without_alerts_or_truth():
    scores = score([], [], rule_ids=["policy_denial_burst"])
    rule = scores["policy_denial_burst"]
    assert (rule.precision, rule.recall, rule.f1) == (1.0, 1.0, 1.0)


def test_score_false_alarm_only():
    rule = score([("policy_denial_burst", "bot-1")], [])["policy_denial_burst"]
    assert rule.precision == 0.0
    assert rule.recall == 1.0
    assert rule.false_positive_ids == ["bot-1"]


def test_simulate_command_writes_files(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            "--seed",
            "4",
            "--days",
            "2",
            "--agents-per-kind",
            "1",
            "--no-produce",
            "--events",
        ],
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "data" / "simulation"
    lines = (out / "events.ndjson").read_text().splitlines()
    expected = list(simulate_fleet(seed=4, days=2, agents_per_kind=1))
    assert [json.loads(line)["event_id"] for line in lines] == [e["event_id"] for e in expected]
    assert load_ground_truth(out / "ground_truth.jsonl")
    fleet = json.loads((out / "fleet.json").read_text())
    assert fleet["clean_agents"]


def test_simulate_command_rejects_naive_start(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(cli, ["simulate", "--start", "2026-01-01T00:00", "--no-produce"])
    assert result.exit_code == 2
    assert "UTC offset" in result.output


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    return evaluate_fleet(
        load_settings(),
        seed=21,
        days=10,
        agents_per_kind=2,
        workdir=tmp_path_factory.mktemp("evaluate"),
    )


def test_small_fleet_recall_complete(small_report):
    missed = {
        rule: s.false_negative_ids
        for rule, s in small_report.scores.items()
        if s.false_negative_ids
    }
    assert missed == {}


def test_small_fleet_clean_agents_quiet(small_report):
    assert small_report.clean_agent_alerts == []


def test_small_fleet_no_false_positive(small_report):
    false_positives = {
        rule: s.false_positive_ids
        for rule, s in small_report.scores.items()
        if s.false_positive_ids
    }
    assert false_positives == {}


def test_evaluate_command_json(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--seed",
            "3",
            "--days",
            "3",
            "--agents-per-kind",
            "1",
            "--json",
            "--workdir",
            str(tmp_path / "work"),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["days"] == 3
    assert report["events"] > 0
    assert "privilege_creep" in report["scores"]


@pytest.mark.slow
def test_default_scale_meets_bar():
    report = evaluate_fleet(load_settings())
    below = {
        rule: (s.precision, s.recall)
        for rule, s in report.scores.items()
        if s.precision < 0.95 or s.recall < 1.0
    }
    assert below == {}
    assert report.clean_agent_alerts == []
