-- Upsert this run's alerts by alert_id; first_detected_at stays as first written.
INSERT INTO alerts
SELECT alert_id, rule_id, rule_title, severity, rule_status, entity_type, entity_id, agent_id,
       window_start, window_end, evidence_event_ids, explanation, details, content_hash,
       $run_time AS first_detected_at, $run_time AS last_detected_at, suppressed_by
FROM _alert_rows
ON CONFLICT (alert_id) DO UPDATE SET
    rule_title = excluded.rule_title,
    severity = excluded.severity,
    rule_status = excluded.rule_status,
    entity_type = excluded.entity_type,
    agent_id = excluded.agent_id,
    evidence_event_ids = excluded.evidence_event_ids,
    explanation = excluded.explanation,
    details = excluded.details,
    content_hash = excluded.content_hash,
    last_detected_at = excluded.last_detected_at,
    suppressed_by = excluded.suppressed_by;
