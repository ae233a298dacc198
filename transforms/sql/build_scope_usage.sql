-- Build scope_usage: per principal and scope, when and how often the scope was exercised.
CREATE OR REPLACE TABLE scope_usage AS
SELECT
    principal_id,
    arg_max(agent_id, (event_time, event_id)) AS agent_id,
    scope,
    min(event_time) AS first_used_at,
    max(event_time) AS last_used_at,
    count(*) AS use_count,
    arg_max(event_id, (event_time, event_id)) AS last_event_id
FROM (
    SELECT
        coalesce(principal_id, agent_id) AS principal_id,
        agent_id,
        unnest(scopes) AS scope,
        event_time,
        event_id
    FROM decision_events
    WHERE event_type IN ('tool_invoked', 'credential_used')
      AND (outcome IS NULL OR outcome = 'success')
)
GROUP BY principal_id, scope
ORDER BY principal_id, scope;
