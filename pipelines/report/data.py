"""Figures of the daily report, read from the warehouse as plain data.

A report covers one UTC day of processing: the alerts first detected on that day (by
`first_detected_at`, the detection run's clock) and the records ingested and quarantined
that day. This is the operator's view of "what is new today", and it holds for a replayed
or simulated fleet whose events are dated in the past. Events are also counted by event
time, labelled as such.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from pipelines.investigations.query import (
    column_names,
    fetch_dicts,
    fetch_value,
    parse_json_text,
    plain_value,
    relation_names,
)

SEVERITIES = ("critical", "high", "medium", "low", "info")
CHART_DAYS = 14

_SEVERITY_RANK = "list_position(['critical', 'high', 'medium', 'low', 'info'], severity)"

_ALERTS_OF_DAY = f"""
SELECT alert_id, rule_id, rule_title, severity, rule_status, entity_type, entity_id, agent_id,
       window_start, window_end, evidence_event_ids, explanation, details, suppressed_by,
       first_detected_at
FROM alerts
WHERE CAST(first_detected_at AS DATE) = ?
ORDER BY {_SEVERITY_RANK}, rule_id, window_end, alert_id
"""

_PER_RULE = f"""
SELECT rule_id, any_value(rule_title) AS rule_title, severity,
       count(*) FILTER (WHERE suppressed_by IS NULL) AS alerts,
       count(*) FILTER (WHERE suppressed_by IS NOT NULL) AS suppressed
FROM alerts
WHERE CAST(first_detected_at AS DATE) = ?
GROUP BY rule_id, severity
ORDER BY {_SEVERITY_RANK}, alerts DESC, rule_id
"""

_PER_DAY = """
SELECT CAST(first_detected_at AS DATE) AS day, severity, count(*) AS alerts
FROM alerts
WHERE suppressed_by IS NULL AND CAST(first_detected_at AS DATE) BETWEEN ? AND ?
GROUP BY ALL
ORDER BY day, severity
"""

_TOP_AGENTS = f"""
SELECT agent_id, count(*) AS alerts,
       arg_min(severity, {_SEVERITY_RANK}) AS highest_severity,
       string_agg(DISTINCT rule_id, ', ' ORDER BY rule_id) AS rules
FROM alerts
WHERE CAST(first_detected_at AS DATE) = ? AND suppressed_by IS NULL AND agent_id IS NOT NULL
GROUP BY agent_id
ORDER BY alerts DESC, agent_id
LIMIT ?
"""

_EVENTS_OF_DAY = """
SELECT count(*) FILTER (WHERE CAST(ingested_at AS DATE) = $day) AS events_ingested,
       count(*) FILTER (WHERE CAST(event_time AS DATE) = $day) AS events,
       count(DISTINCT agent_id) FILTER (WHERE CAST(event_time AS DATE) = $day) AS agents,
       count(*) FILTER (WHERE CAST(event_time AS DATE) = $day AND len(redacted_fields) > 0)
           AS events_with_redactions,
       count(*) FILTER (WHERE CAST(event_time AS DATE) = $day
                        AND (decision = 'deny' OR outcome = 'denied')) AS denied,
       count(*) AS events_total
FROM decision_events
"""


def default_report_day() -> dt.date:
    """Return today's UTC date: the report of a scheduled run covers the alerts it raised."""
    return dt.datetime.now(dt.UTC).date()


def _quarantine_counts(con: duckdb.DuckDBPyConnection, day: dt.date, relations: set[str]):
    """Return quarantined records by reason for `day` and for all time.

    The lake view `lake_quarantine` reads the files as they are now; the warehouse view
    `quarantine` is the fallback. The day is the ingest date, because a quarantined record
    may have no valid event time.
    """
    source = next((name for name in ("lake_quarantine", "quarantine") if name in relations), None)
    if source is None:
        return {"source": None, "total": 0, "on_day": 0, "reasons": []}
    columns = column_names(con, source)
    if "ingest_date" in columns:
        day_expr = "CAST(ingest_date AS DATE)"
    elif "ingested_at" in columns:
        day_expr = "CAST(ingested_at AS DATE)"
    else:
        day_expr = "NULL::DATE"
    reason_expr = "reason" if "reason" in columns else "'(no reason column)'"
    reasons = fetch_dicts(
        con,
        f"""
        SELECT {reason_expr} AS reason, count(*) AS total,
               count(*) FILTER (WHERE {day_expr} = ?) AS on_day
        FROM {source}
        GROUP BY ALL ORDER BY total DESC, reason LIMIT 20
        """,
        [day],
    )
    return {
        "source": source,
        "total": fetch_value(con, f"SELECT count(*) FROM {source}"),
        "on_day": fetch_value(con, f"SELECT count(*) FROM {source} WHERE {day_expr} = ?", [day]),
        "reasons": reasons,
    }


def _data_quality(con: duckdb.DuckDBPyConnection, day: dt.date, relations: set[str]):
    quality: dict[str, Any] = fetch_dicts(con, _EVENTS_OF_DAY, {"day": day})[0]
    if "event_conflicts" in relations:
        quality["event_conflicts_total"] = fetch_value(con, "SELECT count(*) FROM event_conflicts")
    if "deliveries" in relations:
        quality["deliveries"] = fetch_dicts(
            con,
            "SELECT sink, status, count(*) AS alerts FROM deliveries GROUP BY ALL ORDER BY ALL",
        )
    return quality


def collect_report(
    con: duckdb.DuckDBPyConnection, day: dt.date | None = None, *, top_agents: int = 10
) -> dict[str, Any]:
    """Collect every figure of the report for `day` (default: today, UTC)."""
    relations = relation_names(con)
    if "decision_events" not in relations:
        raise LookupError("the warehouse has no decision_events table: load the lake first")
    day = day or default_report_day()
    report: dict[str, Any] = {
        "day": day.isoformat(),
        "generated_at": plain_value(dt.datetime.now(dt.UTC).replace(microsecond=0)),
        "as_of": fetch_value(con, "SELECT max(event_time) FROM decision_events"),
        "alerts_table": "alerts" in relations,
        "alerts": [],
        "per_rule": [],
        "per_day": [],
        "top_agents": [],
    }
    first_chart_day = day - dt.timedelta(days=CHART_DAYS - 1)
    if "alerts" in relations:
        report["alerts"] = fetch_dicts(con, _ALERTS_OF_DAY, [day])
        for alert in report["alerts"]:
            alert["details"] = parse_json_text(alert["details"])
        report["per_rule"] = fetch_dicts(con, _PER_RULE, [day])
        report["per_day"] = fetch_dicts(con, _PER_DAY, [first_chart_day, day])
        report["top_agents"] = fetch_dicts(con, _TOP_AGENTS, [day, top_agents])
    active = [alert for alert in report["alerts"] if alert["suppressed_by"] is None]
    report["totals"] = {
        "alerts": len(active),
        "suppressed": len(report["alerts"]) - len(active),
        "by_severity": {
            severity: sum(1 for alert in active if alert["severity"] == severity)
            for severity in SEVERITIES
        },
    }
    report["chart_days"] = [
        (first_chart_day + dt.timedelta(days=offset)).isoformat() for offset in range(CHART_DAYS)
    ]
    report["quality"] = _data_quality(con, day, relations)
    report["quarantine"] = _quarantine_counts(con, day, relations)
    return report
