"""Rule metadata lint and the generated catalogue page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from detections.catalog import RULES_DIR, RuleError, lint_rules, load_rule, load_rules
from detections.catalog_doc import DEFAULT_OUTPUT, render_catalog

SOURCE = RULES_DIR / "policy_denial_burst"


def _copy_rule(tmp_path: Path) -> Path:
    target = tmp_path / "rules" / "policy_denial_burst"
    shutil.copytree(SOURCE, target)
    return target


def _edit(rule_dir: Path, **changes) -> None:
    path = rule_dir / "rule.yaml"
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_all_rules_valid():
    assert lint_rules() == []
    assert len(load_rules()) == 10


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": None}, "title"),
        ({"severity": "urgent"}, "severity"),
        ({"status": "beta"}, "status"),
        ({"description": "Finds denials."}, "description"),
        ({"false_positives": []}, "false_positives"),
        ({"false_positives": ["None"]}, "false_positives"),
        ({"references": [{"title": "x", "url": "http://example.com"}]}, "references[0].url"),
        ({"mitre_attack": [{"id": "TA0001", "name": "Initial Access"}]}, "mitre_attack[0].id"),
        ({"runbook": ["only one step"]}, "runbook"),
        ({"dedup_window_minutes": 0}, "dedup_window_minutes"),
        ({"id": "other_name"}, "id"),
        ({"fixtures": {"must_alert": []}}, "fixtures.must_alert"),
    ],
)
def test_bad_metadata_names_file_and_field(tmp_path, changes, field):
    rule_dir = _copy_rule(tmp_path)
    _edit(rule_dir, **changes)
    with pytest.raises(RuleError) as raised:
        load_rule(rule_dir)
    assert raised.value.field == field
    assert str(rule_dir / "rule.yaml") in str(raised.value)


def test_undeclared_sql_parameter_rejected(tmp_path):
    rule_dir = _copy_rule(tmp_path)
    sql = (rule_dir / "rule.sql").read_text().replace("$min_denials", "$min_denial_count")
    (rule_dir / "rule.sql").write_text(sql)
    with pytest.raises(RuleError, match=r"\$min_denial_count") as raised:
        load_rule(rule_dir)
    assert raised.value.field == "thresholds"


def test_unused_threshold_rejected(tmp_path):
    rule_dir = _copy_rule(tmp_path)
    data = yaml.safe_load((rule_dir / "rule.yaml").read_text())
    data["thresholds"]["spare"] = {"default": 1, "description": "never read"}
    (rule_dir / "rule.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(RuleError, match="spare declared in rule.yaml but never used"):
        load_rule(rule_dir)


def test_lint_lists_every_bad_rule(tmp_path):
    rule_dir = _copy_rule(tmp_path)
    _edit(rule_dir, severity="urgent")
    (tmp_path / "rules" / "empty_rule").mkdir()
    errors = lint_rules(tmp_path / "rules")
    assert [error.field for error in errors] == ["rule.yaml", "severity"]


def test_config_defaults_match_rule_files():
    config = yaml.safe_load((Path(__file__).parents[2] / "config/agentaudit.yaml").read_text())
    rules = {rule.id: rule for rule in load_rules()}
    for rule_id, values in config["detections"].items():
        assert values == rules[rule_id].default_thresholds, rule_id


def test_committed_catalogue_up_to_date():
    assert DEFAULT_OUTPUT.read_text(encoding="utf-8") == render_catalog(), (
        "docs/detections.md is out of date: run `agentaudit rules catalog`"
    )


def test_catalogue_has_section_per_rule():
    text = render_catalog()
    for rule in load_rules():
        assert f"## {rule.id}\n" in text
        assert rule.runbook[0] in text
