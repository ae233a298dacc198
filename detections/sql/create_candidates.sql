-- Candidate alerts of one run, as the rules return them, before ids and suppressions.
CREATE OR REPLACE TEMP TABLE _alert_candidates (
    rule_id VARCHAR,
    rule_title VARCHAR,
    rule_status VARCHAR,
    entity_type VARCHAR,
    entity_id VARCHAR,
    agent_id VARCHAR,
    window_start TIMESTAMPTZ,
    window_end TIMESTAMPTZ,
    evidence_event_ids VARCHAR[],
    severity VARCHAR,
    explanation VARCHAR,
    details JSON
);
