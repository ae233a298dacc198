-- Alert rows of one run: deterministic id, sorted evidence, content hash and matching suppression.
CREATE OR REPLACE TEMP TABLE _alert_rows AS
WITH
normalized AS (
    SELECT c.* EXCLUDE (evidence_event_ids, details),
           list_sort(list_distinct(list_filter(c.evidence_event_ids, lambda v: v IS NOT NULL)))
               AS all_evidence,
           c.details
    FROM _alert_candidates AS c
),
capped AS (
    SELECT n.* EXCLUDE (all_evidence, details),
           n.all_evidence[1:$max_evidence] AS evidence_event_ids,
           CASE WHEN len(n.all_evidence) > $max_evidence
                THEN json_merge_patch(n.details,
                                      json_object('evidence_event_count', len(n.all_evidence)))
                ELSE n.details END AS details
    FROM normalized AS n
),
identified AS (
    SELECT
        -- The id covers rule, entity and window only: the same finding keeps its id while
        -- its evidence grows, and a SIEM receives an update rather than a second alert.
        left(sha256(concat_ws('|', rule_id, entity_id, alert_time_text(window_start),
                              alert_time_text(window_end))), 32) AS alert_id,
        *
    FROM capped
)
SELECT
    i.alert_id, i.rule_id, i.rule_title, i.severity, i.rule_status, i.entity_type, i.entity_id,
    i.agent_id, i.window_start, i.window_end, i.evidence_event_ids, i.explanation, i.details,
    sha256(to_json(struct_pack(
        alert_id := i.alert_id,
        rule_id := i.rule_id,
        rule_title := i.rule_title,
        severity := i.severity,
        rule_status := i.rule_status,
        entity_type := i.entity_type,
        entity_id := i.entity_id,
        agent_id := i.agent_id,
        window_start := alert_time_text(i.window_start),
        window_end := alert_time_text(i.window_end),
        evidence_event_ids := i.evidence_event_ids,
        explanation := i.explanation,
        details := i.details
    ))::VARCHAR) AS content_hash,
    (SELECT s.id FROM _suppressions AS s
     WHERE s.rule_id = i.rule_id
       AND i.entity_id GLOB s.entity_glob
       AND coalesce(i.agent_id, '') GLOB s.agent_glob
     ORDER BY s.position
     LIMIT 1) AS suppressed_by
FROM identified AS i;
