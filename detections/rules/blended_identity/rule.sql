-- Tasks that mix delegated user authority with machine authority, or delegate with no or the wrong user behind it.
WITH
-- Each selection scans decision_events with equality filters, which DuckDB 2.0 applies
-- inside the scan. It applies an IN list only to prune row groups and filters every
-- row afterwards, hence UNION ALL of one selection per value. The rowid replaces
-- event_id and principal_id, which are read by rowid for the few matching events only.
-- Reads of confidential or restricted data that took place (a denied read exposed nothing).
selection_sensitive_reads AS MATERIALIZED (
    SELECT rowid AS event_row, event_time, coalesce(step, 0) AS step, task_id,
           principal_type, action, system, data_classification
    FROM decision_events
    WHERE action = 'read'
      AND data_classification = 'confidential'
      AND task_id IS NOT NULL
      AND principal_type IS NOT NULL
      AND (outcome IS NULL OR outcome <> 'denied')
      AND event_time <= $as_of
    UNION ALL
    SELECT rowid AS event_row, event_time, coalesce(step, 0) AS step, task_id,
           principal_type, action, system, data_classification
    FROM decision_events
    WHERE action = 'read'
      AND data_classification = 'restricted'
      AND task_id IS NOT NULL
      AND principal_type IS NOT NULL
      AND (outcome IS NULL OR outcome <> 'denied')
      AND event_time <= $as_of
),
selection_writes AS MATERIALIZED (
    SELECT rowid AS event_row, event_time, coalesce(step, 0) AS step, task_id,
           principal_type, action, system
    FROM decision_events
    WHERE action = 'write'
      AND task_id IS NOT NULL
      AND principal_type IS NOT NULL
      AND (outcome IS NULL OR outcome <> 'denied')
      AND event_time <= $as_of
    UNION ALL
    SELECT rowid AS event_row, event_time, coalesce(step, 0) AS step, task_id,
           principal_type, action, system
    FROM decision_events
    WHERE action = 'export'
      AND task_id IS NOT NULL
      AND principal_type IS NOT NULL
      AND (outcome IS NULL OR outcome <> 'denied')
      AND event_time <= $as_of
),
-- Per task, authority and system: the first sensitive read and the last write, so that
-- only tasks where a switch is possible reach the event-level pairing below.
read_spans AS (
    SELECT task_id, principal_type = 'delegated_user' AS delegated, system,
           min(event_time) AS first_read_at
    FROM selection_sensitive_reads
    GROUP BY ALL
),
write_spans AS (
    SELECT task_id, principal_type = 'delegated_user' AS delegated, system,
           max(event_time) AS last_write_at
    FROM selection_writes
    GROUP BY ALL
),
switch_candidates AS (
    SELECT DISTINCT r.task_id
    FROM read_spans AS r
    JOIN write_spans AS w
      ON w.task_id = r.task_id
     AND w.delegated <> r.delegated
     AND w.system <> r.system
     AND w.last_write_at >= r.first_read_at
),
-- Variant a: the authority switches between the read and a later write or export to
-- another system, in either direction.
switch_pairs AS MATERIALIZED (
    SELECT r.task_id, r.event_row AS read_row, w.event_row AS write_row,
           w.event_time AS triggered_at, r.data_classification, r.principal_type,
           r.system AS read_system, w.action, w.system AS write_system,
           w.principal_type AS write_principal_type
    FROM selection_sensitive_reads AS r
    JOIN selection_writes AS w
      ON w.task_id = r.task_id
     AND (w.event_time > r.event_time OR (w.event_time = r.event_time AND w.step > r.step))
     AND w.system <> r.system
    WHERE r.task_id IN (SELECT task_id FROM switch_candidates)
      AND ((r.principal_type = 'delegated_user' AND is_machine_principal(w.principal_type))
           OR (is_machine_principal(r.principal_type) AND w.principal_type = 'delegated_user'))
),
switch_events AS (
    SELECT rowid AS event_row, event_id, principal_id
    FROM decision_events
    WHERE rowid IN (SELECT read_row FROM switch_pairs UNION SELECT write_row FROM switch_pairs)
),
filter_authority_switch AS (
    SELECT p.task_id,
           r.event_id AS read_event_id,
           w.event_id AS write_event_id,
           p.triggered_at,
           p.data_classification,
           CASE WHEN p.principal_type = 'delegated_user'
                THEN 'delegated_read_machine_write'
                ELSE 'machine_read_delegated_write' END AS direction,
           format('{} read of {} data on {} as {} then {} to {} as {}',
                  p.principal_type, p.data_classification, p.read_system, r.principal_id,
                  p.action, p.write_system, w.principal_id) AS summary
    FROM switch_pairs AS p
    JOIN switch_events AS r ON r.event_row = p.read_row
    JOIN switch_events AS w ON w.event_row = p.write_row
),
-- Variant b: delegated authority with no user named behind it.
filter_delegation_without_user AS (
    SELECT task_id, event_id, event_time AS triggered_at
    FROM decision_events
    WHERE principal_type = 'delegated_user'
      AND on_behalf_of IS NULL
      AND task_id IS NOT NULL
      AND event_time <= $as_of
),
-- Tasks that a user asked for: schedules, agents, services and the system are not users.
user_tasks AS (
    SELECT task_id, initiated_by
    FROM tasks
    WHERE initiated_by IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM unnest($non_user_initiator_prefixes) AS p(prefix)
          WHERE starts_with(initiated_by, p.prefix)
      )
),
-- Variant c: confused deputy, the delegated user differs from the user who asked.
confused_deputy_rows AS MATERIALIZED (
    SELECT e.task_id, e.rowid AS event_row, e.event_time AS triggered_at, e.on_behalf_of,
           t.initiated_by
    FROM decision_events AS e
    JOIN user_tasks AS t ON t.task_id = e.task_id AND e.on_behalf_of <> t.initiated_by
    WHERE e.principal_type = 'delegated_user'
      AND e.on_behalf_of IS NOT NULL
      AND e.event_time <= $as_of
),
filter_confused_deputy AS (
    SELECT c.task_id, e.event_id, c.triggered_at, c.on_behalf_of, c.initiated_by
    FROM confused_deputy_rows AS c
    JOIN (SELECT rowid AS event_row, event_id FROM decision_events
          WHERE rowid IN (SELECT event_row FROM confused_deputy_rows)) AS e USING (event_row)
),
switch_by_task AS (
    SELECT task_id,
           min(triggered_at) AS triggered_at,
           list(DISTINCT read_event_id) || list(DISTINCT write_event_id) AS event_ids,
           list(DISTINCT direction ORDER BY direction) AS directions,
           list(DISTINCT summary ORDER BY summary) AS summaries,
           bool_or(data_classification = 'restricted') AS restricted
    FROM filter_authority_switch
    GROUP BY task_id
),
missing_user_by_task AS (
    SELECT task_id, min(triggered_at) AS triggered_at, list(event_id) AS event_ids
    FROM filter_delegation_without_user
    GROUP BY task_id
),
deputy_by_task AS (
    SELECT task_id, min(triggered_at) AS triggered_at, list(event_id) AS event_ids,
           list(DISTINCT on_behalf_of ORDER BY on_behalf_of) AS delegated_users,
           any_value(initiated_by) AS initiated_by
    FROM filter_confused_deputy
    GROUP BY task_id
),
alerting AS (
    SELECT task_id,
           s.triggered_at AS switch_at, s.event_ids AS switch_ids, s.directions, s.summaries,
           coalesce(s.restricted, false) AS restricted,
           m.triggered_at AS missing_at, m.event_ids AS missing_ids,
           d.triggered_at AS deputy_at, d.event_ids AS deputy_ids,
           d.delegated_users, d.initiated_by
    FROM switch_by_task AS s
    FULL JOIN missing_user_by_task AS m USING (task_id)
    FULL JOIN deputy_by_task AS d USING (task_id)
)
SELECT
    'task' AS entity_type,
    a.task_id AS entity_id,
    t.agent_id,
    coalesce(t.started_at, t.first_event_time, least(a.switch_at, a.missing_at, a.deputy_at))
        AS window_start,
    least(a.switch_at, a.missing_at, a.deputy_at) AS window_end,
    coalesce(a.switch_ids, []) || coalesce(a.missing_ids, []) || coalesce(a.deputy_ids, [])
        AS evidence_event_ids,
    CASE WHEN a.restricted OR a.missing_at IS NOT NULL OR a.deputy_at IS NOT NULL
         THEN 'high' ELSE 'medium' END AS severity,
    format('Task {} (agent {}, initiated by {}): ', a.task_id, coalesce(t.agent_id, 'unknown'),
           coalesce(t.initiated_by, 'unknown'))
    || concat_ws('; ',
        CASE WHEN a.switch_at IS NULL THEN NULL
             ELSE array_to_string(a.summaries[1:3], '; ')
                  || CASE WHEN len(a.summaries) > 3
                          THEN format(' (+{} more)', len(a.summaries) - 3) ELSE '' END END,
        CASE WHEN a.missing_at IS NULL THEN NULL
             ELSE format('{} delegated event(s) name no on_behalf_of user',
                         len(a.missing_ids)) END,
        CASE WHEN a.deputy_at IS NULL THEN NULL
             ELSE format('delegated as {} although {} asked for the task',
                         array_to_string(a.delegated_users, ', '), a.initiated_by) END
    ) AS explanation,
    json_object(
        'variants', list_filter(
            [CASE WHEN a.switch_at IS NOT NULL THEN 'authority_switch' END,
             CASE WHEN a.missing_at IS NOT NULL THEN 'delegation_without_user' END,
             CASE WHEN a.deputy_at IS NOT NULL THEN 'confused_deputy' END],
            lambda v: v IS NOT NULL),
        'directions', coalesce(a.directions, []),
        'switches', coalesce(a.summaries, []),
        'restricted_data', a.restricted,
        'events_without_user', len(coalesce(a.missing_ids, [])),
        'delegated_users', coalesce(a.delegated_users, []),
        'initiated_by', t.initiated_by,
        'task_status', t.status
    ) AS details
FROM alerting AS a
LEFT JOIN tasks AS t USING (task_id)
