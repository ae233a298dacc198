"""Asset metadata for the Dagster UI: row counts, quarantine counts, alerts per rule and day.

The Dagster UI renders markdown and table metadata on each materialization and plots
numeric metadata across materializations (the asset's Plots tab). The charts here are
text bars inside markdown tables, so they need no plotting library and render anywhere
markdown does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import dagster as dg


def _plain_counts(result: Any) -> dict[str, Any]:
    """Return the int and str fields of a result dataclass as metadata values."""
    values = dataclasses.asdict(result) if dataclasses.is_dataclass(result) else dict(result)
    return {k: v for k, v in values.items() if isinstance(v, int | float | str)}


SEVERITIES = ("critical", "high", "medium", "low", "info")
CHART_DAYS = 14
BAR_WIDTH = 30
SCOPE_GROWTH_PRINCIPALS = 3


def _markdown_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown_table(header: list[str], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_markdown_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def text_bar(value: int, largest: int, width: int = BAR_WIDTH) -> str:
    """Return a bar of block characters, `width` long for `largest`, at least one for > 0."""
    if value <= 0 or largest <= 0:
        return ""
    return "█" * max(1, round(width * value / largest))


def ingest_metadata(stats: Any) -> dict[str, Any]:
    return _plain_counts(stats)


def load_metadata(con, result: Any) -> dict[str, Any]:
    metadata = _plain_counts(result)
    row_count = con.execute("SELECT count(*) FROM decision_events").fetchone()[0]
    metadata["dagster/row_count"] = row_count
    quarantine = con.execute(
        "SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY 2 DESC LIMIT 20"
    ).fetchall()
    metadata["quarantined_total"] = sum(count for _, count in quarantine)
    if quarantine:
        metadata["quarantine_reasons"] = dg.MetadataValue.md(
            _markdown_table(["reason", "records"], quarantine)
        )
    return metadata


def identity_metadata(con, table: str) -> dict[str, Any]:
    return {"row_count": con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]}


def alerts_metadata(con, result: Any) -> dict[str, Any]:
    metadata = _plain_counts(result)
    per_rule = con.execute(
        """
        SELECT rule_id, severity, rule_status, count(*) AS alerts,
               count(*) FILTER (WHERE suppressed_by IS NOT NULL) AS suppressed
        FROM alerts GROUP BY ALL ORDER BY rule_id, severity
        """
    ).fetchall()
    metadata["dagster/row_count"] = sum(row[3] for row in per_rule)
    metadata["alerts_per_rule"] = dg.MetadataValue.md(
        _markdown_table(["rule", "severity", "status", "alerts", "suppressed"], per_rule)
    )
    metadata["alerts_per_rule_table"] = dg.MetadataValue.table(
        records=[
            dg.TableRecord({"rule": rule, "severity": severity, "status": status,
                            "alerts": alerts, "suppressed": suppressed})
            for rule, severity, status, alerts, suppressed in per_rule
        ],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("rule"), dg.TableColumn("severity"), dg.TableColumn("status"),
            dg.TableColumn("alerts", "int"), dg.TableColumn("suppressed", "int"),
        ]),
    )
    # One number per severity, so the Plots tab draws open alerts over the runs.
    open_by_severity = dict(con.execute(
        "SELECT severity, count(*) FROM alerts WHERE suppressed_by IS NULL GROUP BY severity"
    ).fetchall())
    for severity in SEVERITIES:
        metadata[f"open_alerts_{severity}"] = int(open_by_severity.get(severity, 0))
    metadata["alerts_per_day"] = dg.MetadataValue.md(alerts_per_day_markdown(con))
    growth = scope_growth_markdown(con)
    if growth:
        metadata["scope_growth"] = dg.MetadataValue.md(growth)
    return metadata


def alerts_per_day_markdown(con, days: int = CHART_DAYS) -> str:
    """Chart new alerts per UTC day of first detection, over the last `days` days with any."""
    rows = con.execute(
        """
        WITH per_rule AS (
            SELECT CAST(timezone('UTC', first_detected_at) AS DATE) AS day, rule_id,
                   count(*) AS alerts
            FROM alerts WHERE suppressed_by IS NULL GROUP BY ALL
        )
        SELECT day, sum(alerts)::BIGINT AS alerts,
               string_agg(rule_id || ' ' || alerts, ', ' ORDER BY alerts DESC, rule_id)
        FROM per_rule
        GROUP BY day
        ORDER BY day DESC
        LIMIT ?
        """,
        [days],
    ).fetchall()
    if not rows:
        return "No unsuppressed alerts yet."
    rows = sorted(rows)
    largest = max(alerts for _, alerts, _ in rows)
    return _markdown_table(
        ["day (UTC)", "new alerts", "chart", "per rule"],
        [(day.isoformat(), alerts, text_bar(alerts, largest), by_rule)
         for day, alerts, by_rule in rows],
    )


def scope_growth_markdown(con, principals: int = SCOPE_GROWTH_PRINCIPALS) -> str:
    """Chart held scopes over time for principals that have a privilege_creep alert."""
    rows = con.execute(
        """
        WITH flagged AS (
            SELECT entity_id AS principal_id, max(window_end) AS latest
            FROM alerts
            WHERE rule_id = 'privilege_creep' AND suppressed_by IS NULL
            GROUP BY ALL ORDER BY latest DESC, principal_id LIMIT ?
        ),
        changes AS (
            SELECT principal_id, granted_at AS changed_at, 1 AS delta FROM grants
            UNION ALL
            SELECT principal_id, removed_at AS changed_at, -1 AS delta FROM grants
            WHERE removed_at IS NOT NULL
        ),
        per_day AS (
            SELECT principal_id, CAST(timezone('UTC', changed_at) AS DATE) AS day,
                   sum(delta) AS delta
            FROM changes WHERE principal_id IN (SELECT principal_id FROM flagged)
            GROUP BY ALL
        )
        SELECT principal_id, day,
               sum(delta) OVER (PARTITION BY principal_id ORDER BY day)::BIGINT AS held
        FROM per_day
        ORDER BY principal_id, day
        """,
        [principals],
    ).fetchall()
    if not rows:
        return ""
    largest = max(held for _, _, held in rows)
    return _markdown_table(
        ["principal", "day (UTC)", "scopes held", "chart"],
        [(principal, day.isoformat(), held, text_bar(held, largest))
         for principal, day, held in rows],
    )


def export_metadata(result: Any) -> dict[str, Any]:
    rows = [
        (sink.name, sink.sent, sink.updated, sink.retried, sink.failed, sink.pending)
        for sink in result.sinks
    ]
    metadata: dict[str, Any] = {
        "deliveries": dg.MetadataValue.md(
            _markdown_table(["sink", "sent", "updated", "retried", "failed", "pending"], rows)
        )
    }
    for name, sent, _updated, _retried, failed, pending in rows:
        metadata[f"{name}_sent"] = sent
        metadata[f"{name}_failed"] = failed
        metadata[f"{name}_pending"] = pending
    return metadata
