"""Run the detection rules over the warehouse and upsert their alerts.

Order of one run:
1. resolve `as_of` (the latest event_time unless given) and each rule's thresholds;
2. run every selected rule's SQL into a candidate table (set-based, one query per rule);
3. derive each alert's id from rule, entity and window, and its content hash;
4. mark alerts that an active suppression matches;
5. upsert into `alerts` by alert_id, keeping first_detected_at.

The alert id depends on the evidence only, never on the run time, so a re-run over the same
data updates the same rows, and a backfill over a past range never adds a second copy.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from detections.boundaries import boundary_rows
from detections.catalog import (
    OUTPUT_COLUMNS,
    Rule,
    load_rules,
    resolve_thresholds,
    validate_threshold_config,
)
from detections.ids import parse_as_of
from detections.suppressions import active_suppressions, parse_suppressions, suppression_rows

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent / "sql"

# Evidence lists are cut to this many event ids (the smallest ids first); the details of
# such an alert carry the full count as evidence_event_count.
MAX_EVIDENCE_EVENTS = 1000


class RuleRunError(RuntimeError):
    """A rule's query failed or returned rows that break the alert contract."""


@dataclass
class RunResult:
    """Counts of one detection run; `alerts_per_rule` counts this run's alerts by rule id."""

    as_of: str | None
    run_time: str
    rules_run: int = 0
    total: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    suppressed: int = 0
    expired_suppressions: int = 0
    alerts_per_rule: dict[str, int] = field(default_factory=dict)


def _sql(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def ensure_alerts_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create the alerts table when it does not exist yet."""
    con.execute(_sql("create_alerts.sql"))


def _resolve_as_of(con: duckdb.DuckDBPyConnection, as_of: Any) -> datetime | None:
    if as_of is not None:
        return parse_as_of(as_of)
    try:
        latest = con.execute("SELECT max(event_time) FROM decision_events").fetchone()[0]
    except duckdb.CatalogException as exc:
        raise RuleRunError(
            "table decision_events does not exist; load the lake before running detections"
        ) from exc
    return None if latest is None else latest.astimezone(UTC)


def _select_rules(rules: list[Rule], rule_ids: list[str] | None) -> list[Rule]:
    if rule_ids is None:
        return rules
    by_id = {rule.id: rule for rule in rules}
    unknown = [rule_id for rule_id in rule_ids if rule_id not in by_id]
    if unknown:
        raise RuleRunError(
            f"unknown rule id(s) {', '.join(unknown)}; known: {', '.join(sorted(by_id))}"
        )
    return [by_id[rule_id] for rule_id in rule_ids]


def _register_inputs(
    con: duckdb.DuckDBPyConnection, boundaries: dict[str, Any], suppressions: list
) -> None:
    """Create the helper macros and the boundary and suppression tables the SQL reads."""
    con.execute(_sql("macros.sql"))
    entries, patterns = boundary_rows(boundaries)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE boundary_entries (match_type VARCHAR, match_value VARCHAR, "
        "checks_tools BOOLEAN, checks_systems BOOLEAN)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE boundary_patterns (match_type VARCHAR, "
        "match_value VARCHAR, dimension VARCHAR, pattern VARCHAR)"
    )
    if entries:
        con.executemany("INSERT INTO boundary_entries VALUES (?, ?, ?, ?)", entries)
    if patterns:
        con.executemany("INSERT INTO boundary_patterns VALUES (?, ?, ?, ?)", patterns)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _suppressions (position INTEGER, id VARCHAR, "
        "rule_id VARCHAR, entity_glob VARCHAR, agent_glob VARCHAR)"
    )
    rows = suppression_rows(suppressions)
    if rows:
        con.executemany("INSERT INTO _suppressions VALUES (?, ?, ?, ?, ?)", rows)


def _run_rule(
    con: duckdb.DuckDBPyConnection, rule: Rule, values: dict[str, Any], as_of: datetime
) -> int:
    """Run one rule into `_rule_output`, check its shape and append it to the candidates."""
    available = {**values, "as_of": as_of, "dedup_window_minutes": rule.dedup_window_minutes}
    parameters = {name: available[name] for name in rule.sql_parameters}
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _rule_output AS {rule.sql}", parameters)
    except duckdb.Error as exc:
        sql_path = rule.path.parent / "rule.sql"
        raise RuleRunError(f"rule {rule.id} ({sql_path}) failed: {exc}") from exc
    columns = tuple(row[0] for row in con.execute("DESCRIBE _rule_output").fetchall())
    if columns != OUTPUT_COLUMNS:
        raise RuleRunError(
            f"rule {rule.id} returns columns {', '.join(columns)}; "
            f"rule.sql must return {', '.join(OUTPUT_COLUMNS)} in that order"
        )
    incomplete = con.execute(
        "SELECT count(*) FROM _rule_output WHERE entity_id IS NULL OR window_start IS NULL "
        "OR window_end IS NULL OR explanation IS NULL OR details IS NULL"
    ).fetchone()[0]
    if incomplete:
        raise RuleRunError(
            f"rule {rule.id} returned {incomplete} row(s) with a null entity_id, window, "
            "explanation or details; fix rule.sql"
        )
    con.execute(
        "INSERT INTO _alert_candidates SELECT $rule_id, $title, $status, "
        "coalesce(entity_type, $entity_type), entity_id, agent_id, window_start, window_end, "
        "evidence_event_ids, coalesce(severity, $severity), explanation, details::JSON "
        "FROM _rule_output",
        {
            "rule_id": rule.id,
            "title": rule.title,
            "status": rule.status,
            "entity_type": rule.entity_type,
            "severity": rule.severity,
        },
    )
    return con.execute("SELECT count(*) FROM _rule_output").fetchone()[0]


def _build_alert_rows(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_sql("build_alert_rows.sql"), {"max_evidence": MAX_EVIDENCE_EVENTS})
    duplicates = con.execute(
        "SELECT rule_id, entity_id, count(*) FROM _alert_rows GROUP BY alert_id, rule_id, "
        "entity_id HAVING count(*) > 1 LIMIT 5"
    ).fetchall()
    if duplicates:
        listed = "; ".join(f"{rule} {entity} ({count} rows)" for rule, entity, count in duplicates)
        raise RuleRunError(
            f"rules returned several rows for one entity and window: {listed}; "
            "each rule must group its rows per entity and window"
        )


def run_detections(
    con: duckdb.DuckDBPyConnection,
    *,
    thresholds: dict[str, Any],
    suppressions: list[dict[str, Any]],
    boundaries: dict[str, Any],
    as_of: datetime | str | None = None,
    rule_ids: list[str] | None = None,
    now: datetime | None = None,
    rules: list[Rule] | None = None,
) -> RunResult:
    """Run the detection rules on `con` and upsert their alerts; return the counts.

    `thresholds` is the `detections` configuration section (rule id -> name -> value),
    `suppressions` the `suppressions` list and `boundaries` the mapping of
    config/boundaries.yaml. `as_of` defaults to the latest event_time. `now` is the run time
    stamped on alerts and used for suppression expiry (default: the wall clock). `rules`
    replaces the rules discovered under detections/rules.
    """
    run_time = (now or datetime.now(UTC)).astimezone(UTC)
    all_rules = rules if rules is not None else load_rules()
    validate_threshold_config(all_rules, thresholds or {})
    selected = _select_rules(all_rules, rule_ids)
    parsed = parse_suppressions(suppressions or [], {rule.id for rule in all_rules})
    active, expired = active_suppressions(parsed, run_time)

    ensure_alerts_table(con)
    resolved_as_of = _resolve_as_of(con, as_of)
    result = RunResult(
        as_of=resolved_as_of.isoformat() if resolved_as_of else None,
        run_time=run_time.isoformat(),
        expired_suppressions=len(expired),
    )
    if resolved_as_of is None:
        log.warning("decision_events is empty; no detection rule ran")
        return result

    con.execute("BEGIN TRANSACTION")
    try:
        _register_inputs(con, boundaries or {}, active)
        con.execute(_sql("create_candidates.sql"))
        for rule in selected:
            values = resolve_thresholds(rule, (thresholds or {}).get(rule.id))
            started = time.perf_counter()
            count = _run_rule(con, rule, values, resolved_as_of)
            result.alerts_per_rule[rule.id] = count
            log.info("rule %s (%s): %d alerts as of %s in %.2f s", rule.id, rule.status, count,
                     resolved_as_of.isoformat(), time.perf_counter() - started)
        result.rules_run = len(selected)
        started = time.perf_counter()
        _build_alert_rows(con)
        counts = con.execute(_sql("count_changes.sql")).fetchone()
        result.total, result.new, result.updated, result.unchanged, result.suppressed = counts
        con.execute(_sql("upsert_alerts.sql"), {"run_time": run_time})
        con.execute(_sql("resuppress_alerts.sql"), {"rule_ids": [rule.id for rule in selected]})
        con.execute("DROP TABLE IF EXISTS _rule_output")
        con.execute("COMMIT")
        log.info("alerts table upserted in %.2f s", time.perf_counter() - started)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info(
        "detections as of %s: %d rules, %d alerts (%d new, %d updated, %d unchanged, "
        "%d suppressed, %d expired suppressions ignored)",
        result.as_of, result.rules_run, result.total, result.new, result.updated,
        result.unchanged, result.suppressed, result.expired_suppressions,
    )
    return result
