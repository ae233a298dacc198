-- Build grants: one row per interval in which a principal held a scope, from grant events.
CREATE OR REPLACE TABLE grants AS
WITH grant_scope_events AS (
    -- One row per scope named in a grant_added or grant_removed event. A grant event with
    -- no principal_id is taken to grant the agent's own identity.
    SELECT
        coalesce(principal_id, agent_id) AS principal_id,
        agent_id,
        agent_kind,
        unnest(scopes) AS scope,
        event_type,
        event_time,
        event_id
    FROM decision_events
    WHERE event_type IN ('grant_added', 'grant_removed')
),
ordered AS (
    -- Order by event time, not by arrival. At one instant an add sorts before a remove.
    SELECT
        *,
        lag(event_type) OVER holder AS previous_type
    FROM grant_scope_events
    WINDOW holder AS (PARTITION BY principal_id, scope ORDER BY event_time, event_type, event_id)
),
-- An add opens an interval unless one is already open, because a repeated add restates the
-- grant. A remove closes the open interval and is ignored when none is open. Opens and
-- closes therefore alternate, so the n-th open pairs with the n-th close.
opens AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY principal_id, scope ORDER BY event_time, event_id) AS n
    FROM ordered
    WHERE event_type = 'grant_added'
      AND (previous_type IS NULL OR previous_type = 'grant_removed')
),
closes AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY principal_id, scope ORDER BY event_time, event_id) AS n
    FROM ordered
    WHERE event_type = 'grant_removed' AND previous_type = 'grant_added'
)
SELECT
    opens.principal_id,
    opens.agent_id,
    opens.agent_kind,
    opens.scope,
    opens.event_time AS granted_at,
    opens.event_id AS grant_event_id,
    closes.event_time AS removed_at,
    closes.event_id AS remove_event_id
FROM opens
LEFT JOIN closes USING (principal_id, scope, n)
ORDER BY opens.principal_id, opens.scope, opens.event_time;
