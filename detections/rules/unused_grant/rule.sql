-- Principals holding scopes granted long ago and not exercised within the unused window.
WITH
bounds AS (
    SELECT
        $as_of::TIMESTAMPTZ AS as_of,
        $as_of::TIMESTAMPTZ - to_days(CAST($unused_days AS INTEGER)) AS unused_since
),
held_scopes AS (
    SELECT g.principal_id, g.scope,
           min(g.granted_at) AS granted_at,
           arg_min(g.grant_event_id, g.granted_at) AS grant_event_id,
           arg_max(g.agent_id, g.granted_at) AS agent_id
    FROM grants AS g, bounds AS b
    WHERE g.granted_at <= b.as_of AND (g.removed_at IS NULL OR g.removed_at > b.as_of)
    GROUP BY g.principal_id, g.scope
),
recorded_use AS (
    SELECT h.*, u.last_used_at AS recorded_last_use, u.last_event_id AS recorded_last_event
    FROM held_scopes AS h
    LEFT JOIN scope_usage AS u USING (principal_id, scope)
),
-- scope_usage covers all loaded events. When its last use falls after as_of (a run over a
-- past range), the last use at or before as_of comes from the events themselves, with the
-- same definition of a use: a successful or unknown-outcome tool_invoked or credential_used.
replayed_use AS (
    SELECT r.principal_id, r.scope,
           max(e.event_time) AS last_used_at,
           arg_max(e.event_id, e.event_time) AS last_event_id
    FROM recorded_use AS r
    CROSS JOIN bounds AS b
    JOIN decision_events AS e ON coalesce(e.principal_id, e.agent_id) = r.principal_id
    WHERE r.recorded_last_use > b.as_of
      AND e.event_time <= b.as_of
      AND e.event_type IN ('tool_invoked', 'credential_used')
      AND (e.outcome IS NULL OR e.outcome = 'success')
      AND list_contains(e.scopes, r.scope)
    GROUP BY r.principal_id, r.scope
),
scope_state AS (
    SELECT r.principal_id, r.scope, r.granted_at, r.grant_event_id, r.agent_id,
           CASE WHEN r.recorded_last_use > b.as_of THEN p.last_used_at
                ELSE r.recorded_last_use END AS last_used_at,
           CASE WHEN r.recorded_last_use > b.as_of THEN p.last_event_id
                ELSE r.recorded_last_event END AS last_event_id,
           is_high_risk_scope(r.scope, $high_risk_scope_words) AS high_risk,
           b.unused_since
    FROM recorded_use AS r
    CROSS JOIN bounds AS b
    LEFT JOIN replayed_use AS p USING (principal_id, scope)
),
-- A scope granted within the window has not had the chance to be used yet; a scope used
-- at any time inside the window is in use.
filter_unused AS (
    SELECT *,
           greatest(granted_at, coalesce(last_used_at, granted_at))
               + to_days(CAST($unused_days AS INTEGER)) AS unused_from
    FROM scope_state
    WHERE granted_at <= unused_since
      AND (last_used_at IS NULL OR last_used_at <= unused_since)
),
principal_use AS (
    SELECT principal_id,
           count(*) AS held_count,
           count(*) FILTER (WHERE last_used_at > unused_since) AS used_in_window
    FROM scope_state
    GROUP BY principal_id
)
SELECT
    'principal' AS entity_type,
    f.principal_id AS entity_id,
    arg_max(f.agent_id, f.granted_at) AS agent_id,
    min(f.granted_at) AS window_start,
    min(f.unused_from) AS window_end,
    list(f.grant_event_id) AS evidence_event_ids,
    CASE WHEN bool_or(f.high_risk) THEN 'high' ELSE 'medium' END AS severity,
    format('Principal {} (agent {}) holds {} of {} scope(s) unused for {}+ days ({} never used): {}; remove them or confirm the need',
           f.principal_id, coalesce(arg_max(f.agent_id, f.granted_at), 'unknown'), count(*),
           any_value(u.held_count), $unused_days, count(*) FILTER (WHERE f.last_used_at IS NULL),
           array_to_string(list(f.scope ORDER BY f.scope), ', ')) AS explanation,
    json_object(
        'variant', CASE WHEN any_value(u.used_in_window) = 0 THEN 'whole_principal'
                        ELSE 'unused_scopes' END,
        'unused_scopes', list(struct_pack(
            scope := f.scope,
            granted_at := iso_utc(f.granted_at),
            last_used_at := iso_utc(f.last_used_at),
            last_use_event_id := f.last_event_id,
            high_risk := f.high_risk
        ) ORDER BY f.scope),
        'unused_scope_count', count(*),
        'never_used_count', count(*) FILTER (WHERE f.last_used_at IS NULL),
        'held_scope_count', any_value(u.held_count),
        'unused_days', $unused_days
    ) AS details
FROM filter_unused AS f
JOIN principal_use AS u USING (principal_id)
GROUP BY f.principal_id
