"""Asset metadata for the Dagster UI: row counts, quarantine counts and alerts per rule."""

from __future__ import annotations

import dataclasses
from typing import Any

import dagster as dg


def _plain_counts(result: Any) -> dict[str, Any]:
    """Return the int and str fields of a result dataclass as metadata values."""
    values = dataclasses.asdict(result) if dataclasses.is_dataclass(result) else dict(result)
    return {k: v for k, v in values.items() if isinstance(v, int | float | str)}


def _markdown_table(header: list[str], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ingest_metadata(stats: Any) -> dict[str, Any]:
    return _plain_counts(stats)


def load_metadata(con, result: Any) -> dict[str, Any]:
    metadata = _plain_counts(result)
    metadata["dagster/row_count"] = con.execute("SELECT count(*) FROM decision_events").fetchone()[0]
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
    return metadata


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
    for name, sent, updated, retried, failed, pending in rows:
        metadata[f"{name}_sent"] = sent
        metadata[f"{name}_failed"] = failed
        metadata[f"{name}_pending"] = pending
    return metadata
