"""Every rule's own fixtures: events that must alert on named entities, and events that must not.

The cases come from each rule.yaml; this module holds no per-rule code. A new rule with
fixtures is covered as soon as its folder exists.
"""

from __future__ import annotations

import pytest

from detections.catalog import load_rules
from tests.detections.helpers import alerted_entities, fixture_warehouse, run_fixture

RULES = load_rules()
CASES = [
    pytest.param(rule, fixture, id=f"{rule.id}: {fixture.name}")
    for rule in RULES
    for fixture in rule.fixtures
]


@pytest.mark.parametrize(("rule", "fixture"), CASES)
def test_rule_fixture(rule, fixture, tmp_path):
    con = fixture_warehouse(list(fixture.events), tmp_path)
    result = run_fixture(con, rule, fixture)
    entities = alerted_entities(con, rule.id)
    if fixture.must_alert:
        assert entities == sorted(fixture.expected_entities)
        assert result.alerts_per_rule[rule.id] == len(fixture.expected_entities)
    else:
        assert entities == []


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_rule_has_both_kinds_of_fixture(rule):
    kinds = {fixture.must_alert for fixture in rule.fixtures}
    assert kinds == {True, False}
