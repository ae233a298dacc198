"""Discovery and validation of detection rules.

Each rule lives in `detections/rules/<rule_id>/` as `rule.yaml` (metadata, thresholds and
fixtures) and `rule.sql` (the query). `load_rules` reads every folder and validates each
required property on load, raising `RuleError` that names the rule file and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

RULES_DIR = Path(__file__).resolve().parent / "rules"

SEVERITIES = ("info", "low", "medium", "high", "critical")
STATUSES = ("stable", "experimental")
ENTITY_TYPES = ("agent", "principal", "task", "credential")

# Parameters that the runner binds for every rule, next to the rule's own thresholds.
BUILTIN_PARAMETERS = ("as_of", "dedup_window_minutes")

# Columns every rule query must return, in this order.
OUTPUT_COLUMNS = (
    "entity_type",
    "entity_id",
    "agent_id",
    "window_start",
    "window_end",
    "evidence_event_ids",
    "severity",
    "explanation",
    "details",
)

# The C loader parses the rule files (mostly fixtures) several times faster when present.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_RULE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_ATTACK_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_EMPTY_FALSE_POSITIVES = {"none", "n/a", "unknown", "-"}


class RuleError(ValueError):
    """A rule file is missing, unreadable or has an invalid property."""

    def __init__(self, path: Path, field_name: str, problem: str):
        super().__init__(f"{path}: field {field_name!r}: {problem}")
        self.path = path
        self.field = field_name
        self.problem = problem


@dataclass(frozen=True)
class Threshold:
    """One tunable value of a rule: its default and what it means."""

    name: str
    default: Any
    description: str


@dataclass(frozen=True)
class Fixture:
    """Events that must make a rule alert on `expected_entities`, or must not make it alert."""

    name: str
    must_alert: bool
    events: tuple[dict[str, Any], ...]
    expected_entities: tuple[str, ...] = ()
    as_of: str | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)
    boundaries: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """A detection rule: metadata from rule.yaml and the query from rule.sql."""

    id: str
    title: str
    severity: str
    status: str
    entity_type: str
    description: str
    rationale: str
    mitre_attack: tuple[dict[str, str], ...]
    thresholds: tuple[Threshold, ...]
    false_positives: tuple[str, ...]
    references: tuple[dict[str, str], ...]
    runbook: tuple[str, ...]
    dedup_window_minutes: int
    fixtures: tuple[Fixture, ...]
    sql: str
    path: Path

    @property
    def default_thresholds(self) -> dict[str, Any]:
        return {threshold.name: threshold.default for threshold in self.thresholds}

    @property
    def sql_parameters(self) -> set[str]:
        """Return the names of the `$name` parameters that rule.sql uses."""
        return set(_PARAMETER.findall(_strip_sql_comments(self.sql)))


def _strip_sql_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _require(data: dict[str, Any], key: str, path: Path) -> Any:
    value = data.get(key)
    if value is None or value == "" or value == [] or value == {}:
        raise RuleError(path, key, "is missing or empty")
    return value


def _require_text(data: dict[str, Any], key: str, path: Path) -> str:
    value = _require(data, key, path)
    if not isinstance(value, str):
        raise RuleError(path, key, f"must be text, got {type(value).__name__}")
    return value.strip()


def _require_choice(data: dict[str, Any], key: str, choices: tuple[str, ...], path: Path) -> str:
    value = _require_text(data, key, path)
    if value not in choices:
        raise RuleError(path, key, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _require_text_list(data: dict[str, Any], key: str, path: Path) -> tuple[str, ...]:
    value = _require(data, key, path)
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip()
                                              for item in value):
        raise RuleError(path, key, "must be a list of non-empty strings")
    return tuple(item.strip() for item in value)


def _parse_attack(data: dict[str, Any], path: Path) -> tuple[dict[str, str], ...]:
    entries = _require(data, "mitre_attack", path)
    if not isinstance(entries, list):
        raise RuleError(path, "mitre_attack", "must be a list of {id, name}")
    parsed = []
    for index, entry in enumerate(entries):
        where = f"mitre_attack[{index}]"
        if not isinstance(entry, dict):
            raise RuleError(path, where, "must be a mapping with id and name")
        technique = str(entry.get("id") or "")
        if not _ATTACK_ID.match(technique):
            raise RuleError(path, f"{where}.id", f"{technique!r} is not an ATT&CK technique id "
                            "such as T1078 or T1078.004")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RuleError(path, f"{where}.name", "is missing or empty")
        parsed.append({"id": technique, "name": name.strip()})
    return tuple(parsed)


def _parse_thresholds(data: dict[str, Any], path: Path) -> tuple[Threshold, ...]:
    entries = data.get("thresholds") or {}
    if not isinstance(entries, dict):
        raise RuleError(path, "thresholds", "must be a mapping of name to {default, description}")
    parsed = []
    for name, entry in entries.items():
        where = f"thresholds.{name}"
        if not _RULE_ID.match(str(name)) or name in BUILTIN_PARAMETERS:
            raise RuleError(path, where, "name must be snake_case and not a built-in parameter")
        if not isinstance(entry, dict) or "default" not in entry:
            raise RuleError(path, f"{where}.default", "is missing")
        default = entry["default"]
        if isinstance(default, bool) or not isinstance(default, int | float | str | list):
            raise RuleError(path, f"{where}.default", "must be a number, text or a list")
        description = entry.get("description")
        if not isinstance(description, str) or not description.strip():
            raise RuleError(path, f"{where}.description", "is missing or empty")
        parsed.append(Threshold(str(name), default, description.strip()))
    return tuple(parsed)


def _parse_references(data: dict[str, Any], path: Path) -> tuple[dict[str, str], ...]:
    entries = _require(data, "references", path)
    if not isinstance(entries, list):
        raise RuleError(path, "references", "must be a list of {title, url}")
    parsed = []
    for index, entry in enumerate(entries):
        where = f"references[{index}]"
        if not isinstance(entry, dict):
            raise RuleError(path, where, "must be a mapping with title and url")
        url = str(entry.get("url") or "")
        if not url.startswith("https://"):
            raise RuleError(path, f"{where}.url", f"{url!r} must be an https:// address")
        title = entry.get("title")
        if not isinstance(title, str) or not title.strip():
            raise RuleError(path, f"{where}.title", "is missing or empty")
        parsed.append({"title": title.strip(), "url": url})
    return tuple(parsed)


def _parse_fixture_list(
    data: dict[str, Any], key: str, must_alert: bool, path: Path
) -> list[Fixture]:
    entries = data.get(key)
    if not isinstance(entries, list) or not entries:
        raise RuleError(path, f"fixtures.{key}", "needs at least one fixture")
    fixtures = []
    for index, entry in enumerate(entries):
        where = f"fixtures.{key}[{index}]"
        if not isinstance(entry, dict):
            raise RuleError(path, where, "must be a mapping with name and events")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RuleError(path, f"{where}.name", "is missing or empty")
        defaults = entry.get("defaults") or {}
        events = entry.get("events")
        if not isinstance(events, list) or not events:
            raise RuleError(path, f"{where}.events", "needs at least one event")
        merged = []
        for event_index, event in enumerate(events):
            if not isinstance(event, dict) or not event.get("event_id"):
                raise RuleError(path, f"{where}.events[{event_index}].event_id", "is missing")
            merged.append({**defaults, **event})
        expected = entry.get("expected_entities") or []
        if must_alert and not expected:
            raise RuleError(path, f"{where}.expected_entities", "is missing or empty")
        if not must_alert and expected:
            raise RuleError(path, f"{where}.expected_entities", "must be absent in must_not_alert")
        as_of = entry.get("as_of")
        fixtures.append(
            Fixture(
                name=name.strip(),
                must_alert=must_alert,
                events=tuple(merged),
                expected_entities=tuple(str(item) for item in expected),
                as_of=str(as_of) if as_of is not None else None,
                thresholds=dict(entry.get("thresholds") or {}),
                boundaries=dict(entry.get("boundaries") or {}),
            )
        )
    return fixtures


def _parse_fixtures(data: dict[str, Any], path: Path) -> tuple[Fixture, ...]:
    fixtures = _require(data, "fixtures", path)
    if not isinstance(fixtures, dict):
        raise RuleError(path, "fixtures", "must be a mapping with must_alert and must_not_alert")
    return tuple(
        _parse_fixture_list(fixtures, "must_alert", True, path)
        + _parse_fixture_list(fixtures, "must_not_alert", False, path)
    )


def _check_sql(rule_id: str, sql: str, thresholds: tuple[Threshold, ...], path: Path) -> None:
    if not sql.lstrip().startswith("--"):
        raise RuleError(path, "rule.sql", "must open with a '-- ' line saying what it selects")
    used = set(_PARAMETER.findall(_strip_sql_comments(sql)))
    declared = {threshold.name for threshold in thresholds}
    undeclared = used - declared - set(BUILTIN_PARAMETERS)
    if undeclared:
        raise RuleError(path, "thresholds", f"rule.sql uses ${', $'.join(sorted(undeclared))} "
                        "but rule.yaml declares no such threshold")
    unused = declared - used
    if unused:
        raise RuleError(path, "thresholds", f"{', '.join(sorted(unused))} declared in rule.yaml "
                        "but never used in rule.sql")
    if "$as_of" not in sql:
        raise RuleError(path, "rule.sql", "must bound its events with $as_of")


def load_rule(rule_dir: Path) -> Rule:
    """Read and validate one rule folder, raising RuleError naming the file and the field."""
    path = Path(rule_dir) / "rule.yaml"
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except OSError as exc:
        raise RuleError(path, "rule.yaml", f"cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise RuleError(path, "rule.yaml", f"is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RuleError(path, "rule.yaml", "must contain a mapping at the top level")

    rule_id = _require_text(data, "id", path)
    if not _RULE_ID.match(rule_id) or rule_id != path.parent.name:
        raise RuleError(path, "id", f"{rule_id!r} must be snake_case and equal the folder name "
                        f"{path.parent.name!r}")
    description = _require_text(data, "description", path)
    if not description.startswith("Detects "):
        raise RuleError(path, "description", "must start with 'Detects '")
    false_positives = _require_text_list(data, "false_positives", path)
    if any(item.lower().rstrip(".") in _EMPTY_FALSE_POSITIVES for item in false_positives):
        raise RuleError(path, "false_positives", "must describe real benign causes, not 'none'")
    runbook = _require_text_list(data, "runbook", path)
    if not 2 <= len(runbook) <= 3:
        raise RuleError(path, "runbook", f"must have 2 or 3 triage steps, got {len(runbook)}")
    dedup = data.get("dedup_window_minutes")
    if isinstance(dedup, bool) or not isinstance(dedup, int) or dedup <= 0:
        raise RuleError(path, "dedup_window_minutes", "must be a positive whole number of minutes")
    thresholds = _parse_thresholds(data, path)

    sql_path = path.parent / "rule.sql"
    try:
        sql = sql_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(sql_path, "rule.sql", f"cannot be read: {exc}") from exc
    _check_sql(rule_id, sql, thresholds, sql_path)

    return Rule(
        id=rule_id,
        title=_require_text(data, "title", path),
        severity=_require_choice(data, "severity", SEVERITIES, path),
        status=_require_choice(data, "status", STATUSES, path),
        entity_type=_require_choice(data, "entity_type", ENTITY_TYPES, path),
        description=description,
        rationale=_require_text(data, "rationale", path),
        mitre_attack=_parse_attack(data, path),
        thresholds=thresholds,
        false_positives=false_positives,
        references=_parse_references(data, path),
        runbook=runbook,
        dedup_window_minutes=dedup,
        fixtures=_parse_fixtures(data, path),
        sql=sql,
        path=path,
    )


def load_rules(rules_dir: Path | None = None) -> list[Rule]:
    """Discover every `<rules_dir>/*/rule.yaml`, sorted by rule id, each validated.

    Results are cached per folder and reloaded when any rule file changes.
    """
    base = (Path(rules_dir) if rules_dir is not None else RULES_DIR).resolve()
    files = sorted(base.glob("*/rule.*"))
    stamp = tuple((str(path), path.stat().st_mtime_ns) for path in files)
    cached = _RULES_CACHE.get(base)
    if cached is None or cached[0] != stamp:
        rules = [load_rule(path.parent) for path in sorted(base.glob("*/rule.yaml"))]
        _RULES_CACHE[base] = (stamp, rules)
    return list(_RULES_CACHE[base][1])


_RULES_CACHE: dict[Path, tuple[tuple, list[Rule]]] = {}


def lint_rules(rules_dir: Path | None = None) -> list[RuleError]:
    """Validate every rule folder and return the errors instead of raising the first one."""
    base = Path(rules_dir) if rules_dir is not None else RULES_DIR
    errors = []
    for path in sorted(base.glob("*/")):
        if path.name.startswith((".", "_")):
            continue
        if not (path / "rule.yaml").exists():
            errors.append(RuleError(path / "rule.yaml", "rule.yaml", "is missing"))
            continue
        try:
            load_rule(path)
        except RuleError as exc:
            errors.append(exc)
    return errors


class ThresholdError(ValueError):
    """A configured threshold names an unknown rule or value, or has the wrong type."""


def resolve_thresholds(rule: Rule, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Merge configured values over the rule's defaults, checking names and types.

    `overrides` is the `detections.<rule_id>` mapping of the configuration.
    """
    values = rule.default_thresholds
    for name, value in (overrides or {}).items():
        if name not in values:
            known = ", ".join(sorted(values)) or "none"
            raise ThresholdError(
                f"detections.{rule.id}.{name} is not a threshold of rule {rule.id} "
                f"(known: {known}); fix the name in the configuration"
            )
        default = values[name]
        if isinstance(default, list):
            valid = isinstance(value, list) and all(isinstance(item, str) for item in value)
        elif isinstance(default, int | float):
            valid = isinstance(value, int | float) and not isinstance(value, bool)
        else:
            valid = isinstance(value, str)
        if not valid:
            raise ThresholdError(
                f"detections.{rule.id}.{name} = {value!r} must be of the same type as its "
                f"default {default!r}"
            )
        values[name] = value
    return values


def validate_threshold_config(rules: list[Rule], config: dict[str, Any]) -> None:
    """Raise ThresholdError when the `detections` section names an unknown rule or value."""
    by_id = {rule.id: rule for rule in rules}
    for rule_id, overrides in (config or {}).items():
        if rule_id not in by_id:
            raise ThresholdError(
                f"detections.{rule_id} names no rule; known rules: {', '.join(sorted(by_id))}"
            )
        if overrides is not None and not isinstance(overrides, dict):
            raise ThresholdError(f"detections.{rule_id} must be a mapping of threshold values")
        resolve_thresholds(by_id[rule_id], overrides)
