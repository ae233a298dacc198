-- Build credentials: one row per credential_id with its issue, expiry, revocation and use.
CREATE OR REPLACE TABLE credentials AS
WITH credential_events AS (
    SELECT
        credential_id, event_id, event_time, event_type, task_id, agent_id, principal_id,
        principal_type, auth_method, credential_issued_at, credential_expires_at,
        event_type IN ('credential_used', 'tool_invoked') AS is_use
    FROM decision_events
    WHERE credential_id IS NOT NULL
),
summary AS (
    SELECT
        credential_id,
        -- Each identity column: the first credential_issued event, else the first use,
        -- else the first event of any type that names the credential.
        coalesce(
            arg_min(agent_id, (event_time, event_id))
                FILTER (WHERE event_type = 'credential_issued' AND agent_id IS NOT NULL),
            arg_min(agent_id, (event_time, event_id)) FILTER (WHERE is_use AND agent_id IS NOT NULL),
            arg_min(agent_id, (event_time, event_id)) FILTER (WHERE agent_id IS NOT NULL)
        ) AS agent_id,
        coalesce(
            arg_min(principal_id, (event_time, event_id))
                FILTER (WHERE event_type = 'credential_issued' AND principal_id IS NOT NULL),
            arg_min(principal_id, (event_time, event_id))
                FILTER (WHERE is_use AND principal_id IS NOT NULL),
            arg_min(principal_id, (event_time, event_id)) FILTER (WHERE principal_id IS NOT NULL)
        ) AS principal_id,
        coalesce(
            arg_min(principal_type, (event_time, event_id))
                FILTER (WHERE event_type = 'credential_issued' AND principal_type IS NOT NULL),
            arg_min(principal_type, (event_time, event_id))
                FILTER (WHERE is_use AND principal_type IS NOT NULL),
            arg_min(principal_type, (event_time, event_id))
                FILTER (WHERE principal_type IS NOT NULL)
        ) AS principal_type,
        coalesce(
            arg_min(auth_method, (event_time, event_id))
                FILTER (WHERE event_type = 'credential_issued' AND auth_method IS NOT NULL),
            arg_min(auth_method, (event_time, event_id))
                FILTER (WHERE is_use AND auth_method IS NOT NULL),
            arg_min(auth_method, (event_time, event_id)) FILTER (WHERE auth_method IS NOT NULL)
        ) AS auth_method,
        arg_min_null(task_id, (event_time, event_id))
            FILTER (WHERE event_type = 'credential_issued') AS issued_task_id,
        arg_min(event_id, (event_time, event_id))
            FILTER (WHERE event_type = 'credential_issued') AS issue_event_id,
        coalesce(
            arg_min(credential_issued_at, (event_time, event_id))
                FILTER (WHERE event_type = 'credential_issued' AND credential_issued_at IS NOT NULL),
            min(event_time) FILTER (WHERE event_type = 'credential_issued'),
            min(credential_issued_at)
        ) AS issued_at,
        -- Latest known expiry: from the most recent event that states one.
        arg_max(credential_expires_at, (event_time, event_id))
            FILTER (WHERE credential_expires_at IS NOT NULL) AS expires_at,
        min(event_time) FILTER (WHERE event_type = 'credential_revoked') AS revoked_at,
        max(event_time) FILTER (WHERE event_type = 'credential_rotated') AS rotated_at,
        min(event_time) FILTER (WHERE is_use) AS first_used_at,
        max(event_time) FILTER (WHERE is_use) AS last_used_at,
        count(*) FILTER (WHERE is_use) AS use_count,
        count(DISTINCT task_id) FILTER (WHERE is_use) AS task_count
    FROM credential_events
    GROUP BY credential_id
)
SELECT
    credential_id,
    agent_id,
    principal_id,
    principal_type,
    auth_method,
    issued_task_id,
    issued_at,
    expires_at,
    expires_at IS NULL AS is_standing,
    revoked_at,
    coalesce(rotated_at, issued_at) AS last_rotated_at,
    first_used_at,
    last_used_at,
    use_count,
    task_count,
    issue_event_id
FROM summary
ORDER BY credential_id;
