-- Credentials used or still valid after their task ended, used after expiry or revocation, reused across tasks, or standing in an agent's hands.
WITH
bounds AS (SELECT $as_of::TIMESTAMPTZ AS as_of),
-- Revocations and task ends after as_of had not happened yet at as_of.
credential_state AS (
    SELECT c.credential_id, c.agent_id, c.principal_id, c.principal_type, c.issued_task_id,
           c.issued_at, c.expires_at, c.is_standing, c.issue_event_id, c.first_used_at,
           c.last_used_at, c.task_count,
           CASE WHEN c.revoked_at <= b.as_of THEN c.revoked_at END AS revoked_at,
           CASE WHEN t.status IN ('completed', 'failed') AND t.ended_at <= b.as_of
                THEN t.ended_at END AS ended_at,
           CASE WHEN t.status IN ('completed', 'failed') AND t.ended_at <= b.as_of
                THEN t.status END AS task_status,
           t.started_at AS task_started_at
    FROM credentials AS c
    CROSS JOIN bounds AS b
    LEFT JOIN tasks AS t ON t.task_id = c.issued_task_id
    WHERE coalesce(c.issued_at, c.first_used_at) <= b.as_of
),
-- Credentials whose summary row can meet a variant. Only those that need their uses
-- (every variant but valid_after_task) have their events read back.
selection_candidates AS (
    SELECT s.*,
           (s.ended_at IS NOT NULL
                AND s.last_used_at > s.ended_at + to_seconds(CAST($use_grace_seconds AS BIGINT)))
           OR s.last_used_at > s.expires_at + to_seconds(CAST($use_grace_seconds AS BIGINT))
           OR s.last_used_at > s.revoked_at + to_seconds(CAST($use_grace_seconds AS BIGINT))
           -- NOTE: a credential used in exactly one task is a reuse candidate only when its
           -- issuing task is open or a use falls outside that task's span. A credential used
           -- only in one other task that ran inside the issuing task's span is missed.
           OR (s.issued_task_id IS NOT NULL
               AND (s.task_count >= 2
                    OR (s.task_count = 1
                        AND (s.task_started_at IS NULL
                             OR s.ended_at IS NULL
                             OR s.first_used_at < s.task_started_at
                             OR s.last_used_at > s.ended_at))))
           OR (s.is_standing AND s.principal_type IN ('agent', 'workload'))
               AS needs_uses
    FROM credential_state AS s
),
selection_candidates_kept AS (
    SELECT * FROM selection_candidates WHERE needs_uses OR ended_at IS NOT NULL
),
-- Uses of the candidates up to as_of, one equality branch per event type (DuckDB applies
-- an equality inside the scan but an IN list or OR only to prune row groups). The rowid
-- replaces event_id until the end, when event_id is read for the evidence rows only.
uses AS MATERIALIZED (
    SELECT e.credential_id, e.rowid AS event_row, e.event_time, e.task_id
    FROM decision_events AS e
    JOIN selection_candidates_kept AS c ON c.credential_id = e.credential_id AND c.needs_uses
    WHERE e.event_type = 'credential_used' AND e.event_time <= $as_of
    UNION ALL
    SELECT e.credential_id, e.rowid AS event_row, e.event_time, e.task_id
    FROM decision_events AS e
    JOIN selection_candidates_kept AS c ON c.credential_id = e.credential_id AND c.needs_uses
    WHERE e.event_type = 'tool_invoked' AND e.event_time <= $as_of
),
-- Variant a: used after its task ended, beyond the grace for clock skew between emitters.
filter_used_after_task AS (
    SELECT c.credential_id, min(u.event_time) AS triggered_at, list(u.event_row) AS event_rows
    FROM selection_candidates_kept AS c
    JOIN uses AS u USING (credential_id)
    WHERE c.ended_at IS NOT NULL
      AND u.event_time > c.ended_at + to_seconds(CAST($use_grace_seconds AS BIGINT))
    GROUP BY c.credential_id
),
-- Variant b: still valid max_linger_minutes after the task ended.
filter_lingering AS (
    SELECT c.credential_id,
           c.ended_at + to_minutes(CAST($max_linger_minutes AS INTEGER)) AS triggered_at
    FROM selection_candidates_kept AS c, bounds AS b
    WHERE c.ended_at IS NOT NULL
      AND c.ended_at + to_minutes(CAST($max_linger_minutes AS INTEGER)) <= b.as_of
      AND (c.expires_at IS NULL
           OR c.expires_at > c.ended_at + to_minutes(CAST($max_linger_minutes AS INTEGER)))
      AND (c.revoked_at IS NULL
           OR c.revoked_at > c.ended_at + to_minutes(CAST($max_linger_minutes AS INTEGER)))
),
-- Variant c: used after expiry or after revocation, task-scoped or not.
filter_used_when_invalid AS (
    SELECT c.credential_id, min(u.event_time) AS triggered_at, list(u.event_row) AS event_rows,
           bool_or(u.event_time > c.expires_at + to_seconds(CAST($use_grace_seconds AS BIGINT)))
               AS after_expiry,
           bool_or(u.event_time > c.revoked_at + to_seconds(CAST($use_grace_seconds AS BIGINT)))
               AS after_revocation
    FROM selection_candidates_kept AS c
    JOIN uses AS u USING (credential_id)
    WHERE u.event_time > c.expires_at + to_seconds(CAST($use_grace_seconds AS BIGINT))
       OR u.event_time > c.revoked_at + to_seconds(CAST($use_grace_seconds AS BIGINT))
    GROUP BY c.credential_id
),
-- Variant d: issued for one task and used in another one.
filter_reused_across_tasks AS (
    SELECT c.credential_id, min(u.event_time) AS triggered_at, list(u.event_row) AS event_rows,
           list(DISTINCT u.task_id ORDER BY u.task_id) AS other_task_ids
    FROM selection_candidates_kept AS c
    JOIN uses AS u USING (credential_id)
    WHERE c.issued_task_id IS NOT NULL
      AND u.task_id IS NOT NULL
      AND u.task_id <> c.issued_task_id
    GROUP BY c.credential_id
),
-- Variant e: a standing credential (no expiry) used by an agent or workload identity.
filter_standing_agent_credential AS (
    SELECT c.credential_id, min(u.event_time) AS triggered_at,
           arg_min(u.event_row, u.event_time) AS first_use_row
    FROM selection_candidates_kept AS c
    JOIN uses AS u USING (credential_id)
    WHERE c.is_standing AND c.principal_type IN ('agent', 'workload')
    GROUP BY c.credential_id
),
alerting AS (
    SELECT c.*,
           a.triggered_at AS after_task_at, a.event_rows AS after_task_rows,
           l.triggered_at AS linger_at,
           i.triggered_at AS invalid_at, i.event_rows AS invalid_rows,
           i.after_expiry, i.after_revocation,
           r.triggered_at AS reuse_at, r.event_rows AS reuse_rows, r.other_task_ids,
           s.triggered_at AS standing_at, s.first_use_row
    FROM selection_candidates_kept AS c
    LEFT JOIN filter_used_after_task AS a USING (credential_id)
    LEFT JOIN filter_lingering AS l USING (credential_id)
    LEFT JOIN filter_used_when_invalid AS i USING (credential_id)
    LEFT JOIN filter_reused_across_tasks AS r USING (credential_id)
    LEFT JOIN filter_standing_agent_credential AS s USING (credential_id)
    WHERE coalesce(a.triggered_at, l.triggered_at, i.triggered_at, r.triggered_at,
                   s.triggered_at) IS NOT NULL
),
-- The task end event of lingering credentials.
lingering_tasks AS MATERIALIZED (
    SELECT DISTINCT issued_task_id AS task_id FROM alerting WHERE linger_at IS NOT NULL
),
task_end_rows AS (
    SELECT task_id, arg_min(event_row, event_time) AS event_row
    FROM (
        SELECT e.task_id, e.rowid AS event_row, e.event_time
        FROM decision_events AS e JOIN lingering_tasks USING (task_id)
        WHERE e.event_type = 'task_completed' AND e.event_time <= $as_of
        UNION ALL
        SELECT e.task_id, e.rowid AS event_row, e.event_time
        FROM decision_events AS e JOIN lingering_tasks USING (task_id)
        WHERE e.event_type = 'task_failed' AND e.event_time <= $as_of
    )
    GROUP BY task_id
),
task_end_events AS (
    SELECT r.task_id, e.event_id
    FROM task_end_rows AS r
    JOIN (SELECT rowid AS event_row, event_id FROM decision_events
          WHERE rowid IN (SELECT event_row FROM task_end_rows)) AS e USING (event_row)
),
evidence_rows AS (
    SELECT credential_id,
           unnest(list_filter([first_use_row], lambda v: v IS NOT NULL)
                  || coalesce(after_task_rows, []) || coalesce(invalid_rows, [])
                  || coalesce(reuse_rows, [])) AS event_row
    FROM alerting
),
-- Event ids of the evidence rows, read by rowid so that only those rows are fetched.
evidence_ids AS (
    SELECT r.credential_id, list(e.event_id) AS event_ids
    FROM evidence_rows AS r
    JOIN (SELECT rowid AS event_row, event_id FROM decision_events
          WHERE rowid IN (SELECT event_row FROM evidence_rows)) AS e USING (event_row)
    GROUP BY r.credential_id
)
SELECT
    'credential' AS entity_type,
    a.credential_id AS entity_id,
    a.agent_id,
    coalesce(a.issued_at, a.first_used_at) AS window_start,
    least(a.after_task_at, a.linger_at, a.invalid_at, a.reuse_at, a.standing_at) AS window_end,
    list_filter(
        [a.issue_event_id, CASE WHEN a.linger_at IS NOT NULL THEN te.event_id END],
        lambda v: v IS NOT NULL)
        || coalesce(ev.event_ids, []) AS evidence_event_ids,
    CASE WHEN coalesce(a.after_task_at, a.invalid_at, a.reuse_at) IS NOT NULL
         THEN 'high' ELSE 'medium' END AS severity,
    format('Credential {} (principal {}, agent {}): ', a.credential_id,
           coalesce(a.principal_id, 'unknown'), coalesce(a.agent_id, 'unknown'))
    || concat_ws('; ',
        CASE WHEN a.after_task_at IS NULL THEN NULL
             ELSE format('used {} time(s) after task {} {} at {}', len(a.after_task_rows),
                         a.issued_task_id, a.task_status, iso_utc(a.ended_at)) END,
        CASE WHEN a.linger_at IS NULL THEN NULL
             ELSE format('still valid {}+ minutes after task {} ended at {} (expires {}, revoked {})',
                         $max_linger_minutes, a.issued_task_id, iso_utc(a.ended_at),
                         coalesce(iso_utc(a.expires_at), 'never'),
                         coalesce(iso_utc(a.revoked_at), 'no')) END,
        CASE WHEN a.invalid_at IS NULL THEN NULL
             ELSE format('used {} time(s) after {}', len(a.invalid_rows),
                         CASE WHEN a.after_revocation AND a.after_expiry
                              THEN 'expiry and revocation'
                              WHEN a.after_revocation
                              THEN 'revocation at ' || iso_utc(a.revoked_at)
                              ELSE 'expiry at ' || iso_utc(a.expires_at) END) END,
        CASE WHEN a.reuse_at IS NULL THEN NULL
             ELSE format('issued for task {} but used in {}', a.issued_task_id,
                         array_to_string(a.other_task_ids, ', ')) END,
        CASE WHEN a.standing_at IS NULL THEN NULL
             ELSE format('standing credential with no expiry used by {} identity',
                         a.principal_type) END
    ) || '; revoke it and check the uses listed' AS explanation,
    json_object(
        'variants', list_filter(
            [CASE WHEN a.after_task_at IS NOT NULL THEN 'used_after_task' END,
             CASE WHEN a.linger_at IS NOT NULL THEN 'valid_after_task' END,
             CASE WHEN a.invalid_at IS NOT NULL THEN 'used_when_invalid' END,
             CASE WHEN a.reuse_at IS NOT NULL THEN 'reused_across_tasks' END,
             CASE WHEN a.standing_at IS NOT NULL THEN 'standing_agent_credential' END],
            lambda v: v IS NOT NULL),
        'principal_id', a.principal_id,
        'principal_type', a.principal_type,
        'issued_task_id', a.issued_task_id,
        'task_status', a.task_status,
        'task_ended_at', iso_utc(a.ended_at),
        'issued_at', iso_utc(a.issued_at),
        'expires_at', iso_utc(a.expires_at),
        'revoked_at', iso_utc(a.revoked_at),
        'uses_after_task', len(coalesce(a.after_task_rows, [])),
        'uses_when_invalid', len(coalesce(a.invalid_rows, [])),
        'other_task_ids', coalesce(a.other_task_ids, []),
        'max_linger_minutes', $max_linger_minutes,
        'use_grace_seconds', $use_grace_seconds
    ) AS details
FROM alerting AS a
LEFT JOIN task_end_events AS te ON te.task_id = a.issued_task_id
LEFT JOIN evidence_ids AS ev ON ev.credential_id = a.credential_id
