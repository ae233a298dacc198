-- Writes, deletes and exports of confidential or restricted data with no approval behind them.
WITH
-- Actions that ran: tool invocations and credential uses (a selection or a policy
-- evaluation does not perform the action), not denied, carrying no approval_id.
selection_sensitive_actions AS (
    SELECT rowid AS event_row, event_time, task_id, action, data_classification
    FROM decision_events
    WHERE data_classification = 'confidential'
      AND event_type IN ('tool_invoked', 'credential_used')
      AND action IN ('write', 'delete', 'export')
      AND (outcome IS NULL OR outcome <> 'denied')
      AND approval_id IS NULL
      AND event_time <= $as_of
    -- One branch per classification: DuckDB pushes an equality into the scan, so other
    -- columns are read for matching rows only, while an IN list is pushed as a hint.
    UNION ALL
    SELECT rowid AS event_row, event_time, task_id, action, data_classification
    FROM decision_events
    WHERE data_classification = 'restricted'
      AND event_type IN ('tool_invoked', 'credential_used')
      AND action IN ('write', 'delete', 'export')
      AND (outcome IS NULL OR outcome <> 'denied')
      AND approval_id IS NULL
      AND event_time <= $as_of
),
approvals AS (
    SELECT task_id, min(event_time) AS first_approval_at
    FROM decision_events
    WHERE event_type = 'approval_granted' AND task_id IS NOT NULL AND event_time <= $as_of
    GROUP BY task_id
),
-- An approval_granted event earlier in the same task covers the action. Emitters stamp
-- milliseconds, so an approval with the same timestamp as the action counts as earlier.
filter_unapproved AS MATERIALIZED (
    SELECT s.*
    FROM selection_sensitive_actions AS s
    LEFT JOIN approvals AS a USING (task_id)
    WHERE a.first_approval_at IS NULL OR a.first_approval_at > s.event_time
),
-- The other columns are read by rowid for the unapproved actions only.
unapproved_events AS (
    SELECT f.*, e.event_id, e.agent_id, e.principal_id, e.tool, e.resource, e.system
    FROM filter_unapproved AS f
    JOIN (SELECT rowid AS event_row, event_id, agent_id, principal_id, tool, resource, system
          FROM decision_events
          WHERE rowid IN (SELECT event_row FROM filter_unapproved)) AS e USING (event_row)
),
-- Actions with no task are grouped per agent and dedup window instead.
keyed AS (
    SELECT f.*,
           CASE WHEN f.task_id IS NULL THEN 'agent' ELSE 'task' END AS entity_type,
           coalesce(f.task_id, f.agent_id) AS entity_id,
           CASE WHEN f.task_id IS NULL
                THEN time_bucket(to_minutes(CAST($dedup_window_minutes AS INTEGER)), f.event_time,
                                 TIMESTAMPTZ '2000-01-01 00:00:00+00')
           END AS bucket_start
    FROM unapproved_events AS f
)
SELECT
    k.entity_type,
    k.entity_id,
    arg_min(k.agent_id, k.event_time) AS agent_id,
    CASE WHEN k.entity_type = 'agent' THEN k.bucket_start
         ELSE coalesce(any_value(t.started_at), min(k.event_time)) END AS window_start,
    CASE WHEN k.entity_type = 'agent'
         THEN k.bucket_start + to_minutes(CAST($dedup_window_minutes AS INTEGER))
         ELSE min(k.event_time) END AS window_end,
    list(k.event_id) AS evidence_event_ids,
    CASE WHEN bool_or(k.data_classification = 'restricted') THEN 'high' ELSE 'medium' END
        AS severity,
    format('{} {} (agent {}): {} unapproved {} of {} data, first {} via {} on {}; find the approver or stop the agent',
           CASE WHEN k.entity_type = 'task' THEN 'Task' ELSE 'Agent' END, k.entity_id,
           coalesce(arg_min(k.agent_id, k.event_time), 'unknown'), count(*),
           array_to_string(list(DISTINCT k.action ORDER BY k.action), '/'),
           array_to_string(list(DISTINCT k.data_classification ORDER BY k.data_classification), '/'),
           iso_utc(min(k.event_time)), coalesce(arg_min(k.tool, k.event_time), 'unknown tool'),
           coalesce(arg_min(k.system, k.event_time), 'unknown system')) AS explanation,
    json_object(
        'variant', CASE WHEN k.entity_type = 'task' THEN 'task' ELSE 'no_task' END,
        'action_count', count(*),
        'actions', list(DISTINCT k.action ORDER BY k.action),
        'classifications', list(DISTINCT k.data_classification ORDER BY k.data_classification),
        'tools', coalesce(list(DISTINCT k.tool ORDER BY k.tool)
                          FILTER (WHERE k.tool IS NOT NULL), []),
        'systems', coalesce(list(DISTINCT k.system ORDER BY k.system)
                            FILTER (WHERE k.system IS NOT NULL), []),
        'resources', coalesce(list(DISTINCT k.resource ORDER BY k.resource)
                              FILTER (WHERE k.resource IS NOT NULL), []),
        'principals', coalesce(list(DISTINCT k.principal_id ORDER BY k.principal_id)
                               FILTER (WHERE k.principal_id IS NOT NULL), []),
        'first_action_at', iso_utc(min(k.event_time))
    ) AS details
FROM keyed AS k
LEFT JOIN tasks AS t ON t.task_id = k.task_id
GROUP BY k.entity_type, k.entity_id, k.bucket_start
