-- Agents whose events carried a secret that the ingest worker redacted.
WITH
selection_redacted_events AS (
    SELECT event_id, event_time, agent_id, redacted_fields,
           time_bucket(to_minutes(CAST($dedup_window_minutes AS INTEGER)), event_time,
                       TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket_start
    FROM decision_events
    WHERE redacted_fields IS NOT NULL
      AND len(redacted_fields) > 0
      AND event_time <= $as_of
),
-- Each entry is "<field path>:<secret kind>"; the secret itself never reached storage.
findings AS (
    SELECT s.event_id, s.agent_id, s.bucket_start, f.finding,
           split_part(f.finding, ':', -1) AS kind,
           left(f.finding, length(f.finding) - length(split_part(f.finding, ':', -1)) - 1)
               AS field_path
    FROM selection_redacted_events AS s, unnest(s.redacted_fields) AS f(finding)
)
SELECT
    'agent' AS entity_type,
    s.agent_id AS entity_id,
    s.agent_id,
    s.bucket_start AS window_start,
    s.bucket_start + to_minutes(CAST($dedup_window_minutes AS INTEGER)) AS window_end,
    list(DISTINCT s.event_id) AS evidence_event_ids,
    CASE WHEN list_has_any(list(DISTINCT f.kind), ['private_key', 'aws_secret_access_key', 'aws_session_token'])
         THEN 'critical' ELSE 'high' END AS severity,
    format('Agent {} sent {} event(s) containing secrets ({}) in fields {}; rotate the exposed secrets and fix the emitter',
           s.agent_id, count(DISTINCT s.event_id),
           array_to_string(list(DISTINCT f.kind ORDER BY f.kind), ', '),
           array_to_string(list(DISTINCT f.field_path ORDER BY f.field_path), ', ')) AS explanation,
    json_object(
        'event_count', count(DISTINCT s.event_id),
        'secret_kinds', list(DISTINCT f.kind ORDER BY f.kind),
        'field_paths', list(DISTINCT f.field_path ORDER BY f.field_path),
        'findings', list(DISTINCT f.finding ORDER BY f.finding)
    ) AS details
FROM selection_redacted_events AS s
JOIN findings AS f USING (event_id)
GROUP BY s.agent_id, s.bucket_start
