-- Long-lived credentials still in use whose last rotation is older than the rotation period.
WITH
bounds AS (
    SELECT
        $as_of::TIMESTAMPTZ AS as_of,
        $as_of::TIMESTAMPTZ - to_days(CAST($rotation_days AS INTEGER)) AS rotation_due_before,
        $as_of::TIMESTAMPTZ - to_days(CAST($recent_use_days AS INTEGER)) AS recent_use_since
),
-- Rotations come from the events so that a run over a past range ignores later ones.
rotations AS (
    SELECT e.credential_id, max(e.event_time) AS rotated_at,
           arg_max(e.event_id, e.event_time) AS rotation_event_id
    FROM decision_events AS e, bounds AS b
    WHERE e.event_type = 'credential_rotated'
      AND e.credential_id IS NOT NULL
      AND e.event_time <= b.as_of
    GROUP BY e.credential_id
),
-- Not revoked at as_of, and either standing or valid for longer than the rotation period.
selection_long_lived AS (
    SELECT c.credential_id, c.agent_id, c.principal_id, c.principal_type, c.auth_method,
           c.issued_at, c.expires_at, c.is_standing, c.issue_event_id, c.last_used_at,
           c.first_used_at, r.rotated_at, r.rotation_event_id,
           coalesce(r.rotated_at, c.issued_at, c.first_used_at) AS rotation_anchor
    FROM credentials AS c
    CROSS JOIN bounds AS b
    LEFT JOIN rotations AS r USING (credential_id)
    WHERE (c.revoked_at IS NULL OR c.revoked_at > b.as_of)
      AND (c.expires_at IS NULL
           OR c.expires_at > coalesce(c.issued_at, c.first_used_at)
                             + to_days(CAST($rotation_days AS INTEGER)))
),
filter_overdue AS (
    SELECT s.*,
           s.rotation_anchor + to_days(CAST($rotation_days AS INTEGER)) AS rotation_due_at
    FROM selection_long_lived AS s, bounds AS b
    WHERE s.rotation_anchor <= b.rotation_due_before
),
-- Used within recent_use_days of as_of, read from the events so that a run over a past
-- range sees the uses up to as_of only. The first use after the rotation fell due is the
-- evidence, because it stays the same while the credential goes on being used.
use_rows AS (
    SELECT e.credential_id, e.rowid AS event_row, e.event_time, o.rotation_due_at
    FROM decision_events AS e
    CROSS JOIN bounds AS b
    JOIN filter_overdue AS o USING (credential_id)
    WHERE e.event_type = 'credential_used'
      AND e.event_time > least(b.recent_use_since, o.rotation_due_at)
      AND e.event_time <= b.as_of
    UNION ALL
    SELECT e.credential_id, e.rowid AS event_row, e.event_time, o.rotation_due_at
    FROM decision_events AS e
    CROSS JOIN bounds AS b
    JOIN filter_overdue AS o USING (credential_id)
    WHERE e.event_type = 'tool_invoked'
      AND e.event_time > least(b.recent_use_since, o.rotation_due_at)
      AND e.event_time <= b.as_of
),
uses AS MATERIALIZED (
    SELECT credential_id,
           max(event_time) AS last_used_at,
           min(event_time) FILTER (WHERE event_time > rotation_due_at) AS first_overdue_use_at,
           arg_min(event_row, event_time) FILTER (WHERE event_time > rotation_due_at)
               AS first_overdue_use_row
    FROM use_rows
    GROUP BY credential_id
),
filter_in_use AS (
    SELECT o.*, u.first_overdue_use_at, e.event_id AS first_overdue_use_event_id
    FROM filter_overdue AS o
    CROSS JOIN bounds AS b
    JOIN uses AS u USING (credential_id)
    -- event_id is read by rowid for the first use after the due date only.
    LEFT JOIN (SELECT rowid AS event_row, event_id FROM decision_events
               WHERE rowid IN (SELECT first_overdue_use_row FROM uses)) AS e
      ON e.event_row = u.first_overdue_use_row
    WHERE u.last_used_at > b.recent_use_since
)
SELECT
    'credential' AS entity_type,
    credential_id AS entity_id,
    agent_id,
    rotation_anchor AS window_start,
    rotation_due_at AS window_end,
    list_filter([issue_event_id, rotation_event_id, first_overdue_use_event_id], lambda v: v IS NOT NULL)
        AS evidence_event_ids,
    CASE WHEN is_standing THEN 'high' ELSE 'medium' END AS severity,
    format('Credential {} ({}, principal {}, agent {}) was last {} at {}, rotation was due at {}, and it was used within the last {} days{}; rotate it',
           credential_id, coalesce(auth_method, 'unknown method'),
           coalesce(principal_id, 'unknown'), coalesce(agent_id, 'unknown'),
           CASE WHEN rotated_at IS NOT NULL THEN 'rotated' ELSE 'issued' END,
           iso_utc(rotation_anchor), iso_utc(rotation_due_at),
           $recent_use_days,
           CASE WHEN first_overdue_use_at IS NULL THEN ''
                ELSE ' (first use after the due date at ' || iso_utc(first_overdue_use_at) || ')'
           END) AS explanation,
    json_object(
        'variant', CASE WHEN rotated_at IS NOT NULL THEN 'rotation_overdue'
                        ELSE 'never_rotated' END,
        'principal_id', principal_id,
        'principal_type', principal_type,
        'auth_method', auth_method,
        'issued_at', iso_utc(issued_at),
        'expires_at', iso_utc(expires_at),
        'standing', is_standing,
        'last_rotated_at', iso_utc(rotated_at),
        'rotation_due_at', iso_utc(rotation_due_at),
        'first_use_after_due_at', iso_utc(first_overdue_use_at),
        'rotation_days', $rotation_days,
        'recent_use_days', $recent_use_days
    ) AS details
FROM filter_in_use
