"""Create the `alerts` table with the documented columns and insert rows for the tests."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

ALERTS_DDL = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id VARCHAR PRIMARY KEY,
    rule_id VARCHAR NOT NULL,
    rule_title VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    rule_status VARCHAR NOT NULL,
    entity_type VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    agent_id VARCHAR,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    evidence_event_ids VARCHAR[] NOT NULL,
    explanation VARCHAR NOT NULL,
    details JSON,
    content_hash VARCHAR NOT NULL,
    first_detected_at TIMESTAMPTZ NOT NULL,
    last_detected_at TIMESTAMPTZ NOT NULL,
    suppressed_by VARCHAR
)
"""

BASE_TIME = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def create_alerts_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(ALERTS_DDL)


def alert_id_for(rule_id: str, entity_id: str, start: datetime, end: datetime) -> str:
    key = "\x1f".join([rule_id, entity_id, start.isoformat(), end.isoformat()])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def content_hash_for(row: dict[str, Any]) -> str:
    content = {key: row[key] for key in ("severity", "explanation", "details")}
    content["evidence_event_ids"] = row["evidence_event_ids"]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def alert_row(number: int, **overrides: Any) -> dict[str, Any]:
    start = BASE_TIME + timedelta(hours=number)
    end = start + timedelta(minutes=20)
    row: dict[str, Any] = {
        "rule_id": "credential_outlives_task",
        "rule_title": "Task credential used after its task ended",
        "severity": "high",
        "rule_status": "stable",
        "entity_type": "credential",
        "entity_id": f"cred-{number:04d}",
        "agent_id": f"agent-{number % 3}",
        "window_start": start,
        "window_end": end,
        "evidence_event_ids": [f"evt-{number:04d}-a", f"evt-{number:04d}-b"],
        "explanation": f"credential cred-{number:04d} used 42 minutes after task t-{number} ended",
        "details": {"variant": "used_after_task_end", "minutes_past_end": 42},
        "first_detected_at": end + timedelta(minutes=5),
        "last_detected_at": end + timedelta(minutes=5),
        "suppressed_by": None,
    }
    row.update(overrides)
    row.setdefault(
        "alert_id",
        alert_id_for(row["rule_id"], row["entity_id"], row["window_start"], row["window_end"]),
    )
    row.setdefault("content_hash", content_hash_for(row))
    return row


def insert_alerts(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace alert rows, as the detection runner would on a re-run."""
    create_alerts_table(con)
    for row in rows:
        con.execute("DELETE FROM alerts WHERE alert_id = ?", [row["alert_id"]])
        con.execute(
            """
            INSERT INTO alerts (alert_id, rule_id, rule_title, severity, rule_status,
                entity_type, entity_id, agent_id, window_start, window_end,
                evidence_event_ids, explanation, details, content_hash,
                first_detected_at, last_detected_at, suppressed_by)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                row["alert_id"], row["rule_id"], row["rule_title"], row["severity"],
                row["rule_status"], row["entity_type"], row["entity_id"], row["agent_id"],
                row["window_start"], row["window_end"], row["evidence_event_ids"],
                row["explanation"], json.dumps(row["details"]), row["content_hash"],
                row["first_detected_at"], row["last_detected_at"], row["suppressed_by"],
            ],
        )  # fmt: skip


def changed(row: dict[str, Any], explanation: str) -> dict[str, Any]:
    """Return the same alert (same alert_id) with new content and a new content_hash."""
    updated = dict(row, explanation=explanation)
    updated.pop("content_hash")
    updated["content_hash"] = content_hash_for(updated)
    return updated
