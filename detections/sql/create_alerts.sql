-- The alerts table that every detection run upserts into, keyed by the deterministic alert_id.
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
    details JSON NOT NULL,
    content_hash VARCHAR NOT NULL,
    first_detected_at TIMESTAMPTZ NOT NULL,
    last_detected_at TIMESTAMPTZ NOT NULL,
    suppressed_by VARCHAR
);
