-- Create access_map: which agent can touch which system, under which scope, identity and credential.
CREATE OR REPLACE VIEW access_map AS
WITH scope_systems AS (
    -- The systems on which each scope was seen, and the actions seen under it there.
    SELECT scope, system, list_sort(list(DISTINCT action) FILTER (WHERE action IS NOT NULL)) AS actions
    FROM (
        SELECT unnest(scopes) AS scope, system, action
        FROM decision_events
        WHERE system IS NOT NULL AND len(scopes) > 0
    )
    GROUP BY ALL
),
uses AS (
    -- Successful or unknown-outcome uses per agent, principal, scope and system. A use that
    -- lists no scope counts once with a null scope, so access seen without scope data still
    -- shows.
    SELECT
        agent_id,
        principal_id,
        scope,
        system,
        min(event_time) AS first_used_at,
        max(event_time) AS last_used_at,
        count(*) AS use_count,
        arg_max(credential_id, (event_time, event_id)) AS last_credential_id,
        list_sort(list(DISTINCT action) FILTER (WHERE action IS NOT NULL)) AS used_actions
    FROM (
        SELECT
            agent_id,
            coalesce(principal_id, agent_id) AS principal_id,
            unnest(CASE WHEN len(scopes) > 0 THEN scopes ELSE [NULL::VARCHAR] END) AS scope,
            system,
            action,
            credential_id,
            event_time,
            event_id
        FROM decision_events
        WHERE event_type IN ('tool_invoked', 'credential_used')
          AND (outcome IS NULL OR outcome = 'success')
          AND system IS NOT NULL
    )
    GROUP BY ALL
),
principal_types AS (
    SELECT
        coalesce(principal_id, agent_id) AS principal_id,
        arg_max(principal_type, (event_time, event_id)) AS principal_type
    FROM decision_events
    WHERE principal_type IS NOT NULL
    GROUP BY ALL
),
agent_kinds AS (
    SELECT agent_id, arg_max(agent_kind, (event_time, event_id)) AS agent_kind
    FROM decision_events
    WHERE agent_kind IS NOT NULL
    GROUP BY ALL
),
-- The credential a principal would present when nothing ties one to a scope: its latest
-- issued credential that is not revoked.
latest_credentials AS (
    SELECT
        principal_id,
        arg_max(credential_id, (coalesce(issued_at, first_used_at), credential_id))
            AS credential_id
    FROM credentials
    WHERE revoked_at IS NULL AND principal_id IS NOT NULL
    GROUP BY ALL
),
held AS (
    -- Open grant intervals, each on every system its scope was seen on (or none).
    SELECT
        grants.agent_id,
        grants.principal_id,
        grants.scope,
        scope_systems.system,
        scope_systems.actions,
        grants.granted_at,
        grants.grant_event_id
    FROM grants
    LEFT JOIN scope_systems USING (scope)
    WHERE grants.removed_at IS NULL
),
never_granted_uses AS (
    -- Uses of a scope (or of a system with no scope data) that no grant event ever covered:
    -- the access came from outside the recorded grants, e.g. a delegated OAuth consent.
    SELECT uses.*
    FROM uses
    WHERE NOT EXISTS (
        SELECT 1
        FROM grants
        WHERE grants.principal_id = uses.principal_id AND grants.scope = uses.scope
    )
),
access AS (
    SELECT
        held.agent_id,
        held.principal_id,
        held.scope,
        held.system,
        held.actions,
        'grant' AS access_basis,
        held.granted_at,
        held.grant_event_id
    FROM held
    UNION ALL
    SELECT
        agent_id,
        principal_id,
        scope,
        system,
        coalesce(scope_systems.actions, used_actions) AS actions,
        'observed_use' AS access_basis,
        NULL::TIMESTAMPTZ AS granted_at,
        NULL::VARCHAR AS grant_event_id
    FROM never_granted_uses
    LEFT JOIN scope_systems USING (scope, system)
),
as_of AS (
    SELECT max(event_time) AS as_of FROM decision_events
)
SELECT
    access.agent_id,
    agent_kinds.agent_kind,
    access.principal_id,
    principal_types.principal_type,
    access.scope,
    access.system,
    coalesce(access.actions, []::VARCHAR[]) AS actions,
    access.access_basis,
    access.granted_at,
    access.grant_event_id,
    as_of.as_of - access.granted_at AS held_for,
    coalesce(uses.last_credential_id, latest_credentials.credential_id) AS credential_id,
    credentials.expires_at AS credential_expires_at,
    credentials.is_standing AS credential_is_standing,
    uses.first_used_at,
    uses.last_used_at,
    coalesce(uses.use_count, 0) AS use_count,
    as_of.as_of
FROM access
CROSS JOIN as_of
LEFT JOIN agent_kinds ON agent_kinds.agent_id = access.agent_id
LEFT JOIN principal_types ON principal_types.principal_id = access.principal_id
LEFT JOIN uses
    ON uses.agent_id = access.agent_id
    AND uses.principal_id = access.principal_id
    AND uses.scope IS NOT DISTINCT FROM access.scope
    AND uses.system IS NOT DISTINCT FROM access.system
LEFT JOIN latest_credentials ON latest_credentials.principal_id = access.principal_id
LEFT JOIN credentials
    ON credentials.credential_id = coalesce(uses.last_credential_id, latest_credentials.credential_id);
