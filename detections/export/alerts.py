"""Read the alerts that leave the warehouse: stable rules, not suppressed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from datetime import UTC, datetime
from typing import Any

import duckdb

from detections.catalog import load_rules

ALERT_COLUMNS = (
    "alert_id",
    "rule_id",
    "rule_title",
    "severity",
    "rule_status",
    "entity_type",
    "entity_id",
    "agent_id",
    "window_start",
    "window_end",
    "evidence_event_ids",
    "explanation",
    "details",
    "content_hash",
    "first_detected_at",
    "last_detected_at",
)

# Columns the exporter uses when the alerts table has them. They are not part of the
# documented contract, so their absence is not an error.
OPTIONAL_COLUMNS = ("mitre_technique", "mitre_technique_name")

EXPORTABLE_FILTER = "rule_status = 'stable' AND suppressed_by IS NULL"


@dataclass(frozen=True)
class Alert:
    """One exportable row of the `alerts` table, timestamps in UTC."""

    alert_id: str
    rule_id: str
    rule_title: str
    severity: str
    rule_status: str
    entity_type: str
    entity_id: str
    agent_id: str | None
    window_start: datetime
    window_end: datetime
    evidence_event_ids: tuple[str, ...]
    explanation: str
    details: dict[str, Any]
    content_hash: str
    first_detected_at: datetime
    last_detected_at: datetime
    mitre_technique: str | None = None
    mitre_technique_name: str | None = None

    @property
    def technique_ids(self) -> tuple[str, ...]:
        """ATT&CK technique ids from the alert column or from `details`, comma-separated."""
        raw = self.mitre_technique or self.details.get("mitre_technique") or ""
        if isinstance(raw, list):
            return tuple(str(item).strip() for item in raw if str(item).strip())
        return tuple(part.strip() for part in str(raw).split(",") if part.strip())


    @property
    def technique_names(self) -> tuple[str | None, ...]:
        """Names aligned with `technique_ids`; None where the names do not line up."""
        names = [name.strip() for name in (self.mitre_technique_name or "").split(";")]
        if len(names) != len(self.technique_ids):
            return tuple(None for _ in self.technique_ids)
        return tuple(names)


def load_exportable_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Return every stable, unsuppressed alert ordered by alert_id."""
    present = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'alerts'"
        ).fetchall()
    }
    if not present:
        raise duckdb.CatalogException(
            "table alerts not found in the warehouse: run the detections before the export"
        )
    optional = [name for name in OPTIONAL_COLUMNS if name in present]
    columns = list(ALERT_COLUMNS) + optional
    sql = f"SELECT {', '.join(columns)} FROM alerts WHERE {EXPORTABLE_FILTER} ORDER BY alert_id"
    rows = con.execute(sql).fetchall()
    return [_to_alert(dict(zip(columns, row, strict=True))) for row in rows]


@lru_cache(maxsize=1)
def _techniques_by_rule() -> dict[str, tuple[str, str]]:
    """Map each rule id to its ATT&CK technique ids and names, comma-separated."""
    techniques = {}
    for rule in load_rules():
        ids = ", ".join(item["id"] for item in rule.mitre_attack)
        # Technique names contain colons and commas, so names are joined with "; ".
        names = "; ".join(item["name"] for item in rule.mitre_attack)
        techniques[rule.id] = (ids, names)
    return techniques


def _to_alert(row: dict[str, Any]) -> Alert:
    details = row["details"]
    if isinstance(details, str):
        details = json.loads(details) if details else {}
    if not row.get("mitre_technique") and not (details or {}).get("mitre_technique"):
        # Neither the row nor its details name a technique: take the rule's metadata.
        ids, names = _techniques_by_rule().get(row["rule_id"], ("", ""))
        row = {**row, "mitre_technique": ids or None, "mitre_technique_name": names or None}
    return Alert(
        alert_id=row["alert_id"],
        rule_id=row["rule_id"],
        rule_title=row["rule_title"] or row["rule_id"],
        severity=(row["severity"] or "medium").lower(),
        rule_status=row["rule_status"],
        entity_type=row["entity_type"],
        entity_id=row["entity_id"],
        agent_id=row["agent_id"],
        window_start=_utc(row["window_start"]),
        window_end=_utc(row["window_end"]),
        evidence_event_ids=tuple(row["evidence_event_ids"] or ()),
        explanation=row["explanation"] or "",
        details=details or {},
        content_hash=row["content_hash"],
        first_detected_at=_utc(row["first_detected_at"]),
        last_detected_at=_utc(row["last_detected_at"]),
        mitre_technique=row.get("mitre_technique"),
        mitre_technique_name=row.get("mitre_technique_name"),
    )


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
