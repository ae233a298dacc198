-- Principals whose held scopes grew by several, or by a high-risk scope no peer holds, within the lookback.
WITH
bounds AS (
    SELECT
        $as_of::TIMESTAMPTZ AS as_of,
        $as_of::TIMESTAMPTZ - to_days(CAST($lookback_days AS INTEGER)) AS lookback_start
),
held_at_as_of AS (
    SELECT g.principal_id, g.scope,
           min(g.granted_at) AS granted_at,
           arg_min(g.grant_event_id, g.granted_at) AS grant_event_id,
           arg_max(g.agent_id, g.granted_at) AS agent_id,
           arg_max(g.agent_kind, g.granted_at) AS agent_kind
    FROM grants AS g, bounds AS b
    WHERE g.granted_at <= b.as_of AND (g.removed_at IS NULL OR g.removed_at > b.as_of)
    GROUP BY g.principal_id, g.scope
),
held_at_lookback_start AS (
    SELECT DISTINCT g.principal_id, g.scope
    FROM grants AS g, bounds AS b
    WHERE g.granted_at <= b.lookback_start
      AND (g.removed_at IS NULL OR g.removed_at > b.lookback_start)
),
principal_kind AS (
    SELECT principal_id,
           arg_max(agent_id, granted_at) AS agent_id,
           arg_max(agent_kind, granted_at) AS agent_kind
    FROM grants, bounds AS b
    WHERE granted_at <= b.as_of AND agent_kind IS NOT NULL
    GROUP BY principal_id
),
-- Peers: other principals whose agent has the same agent_kind.
kind_sizes AS (
    SELECT agent_kind, count(*) AS principals FROM principal_kind GROUP BY agent_kind
),
scope_holders AS (
    SELECT k.agent_kind, h.scope, count(DISTINCT h.principal_id) AS holders
    FROM held_at_as_of AS h JOIN principal_kind AS k USING (principal_id)
    GROUP BY k.agent_kind, h.scope
),
removals AS (
    SELECT g.principal_id, count(*) AS removed_in_window
    FROM grants AS g, bounds AS b
    WHERE g.removed_at > b.lookback_start AND g.removed_at <= b.as_of
    GROUP BY g.principal_id
),
scope_counts AS (
    SELECT p.principal_id,
           count(DISTINCT p.scope) AS current_count,
           (SELECT count(*) FROM held_at_lookback_start AS s
            WHERE s.principal_id = p.principal_id) AS baseline_count
    FROM held_at_as_of AS p
    GROUP BY p.principal_id
),
selection_new_scopes AS (
    SELECT h.principal_id, h.scope, h.granted_at, h.grant_event_id, h.agent_id,
           k.agent_kind,
           is_high_risk_scope(h.scope, $critical_scope_words) AS critical,
           is_high_risk_scope(h.scope, $high_risk_scope_words)
               OR is_high_risk_scope(h.scope, $critical_scope_words) AS high_risk,
           coalesce(ks.principals, 1) - 1 AS peers_count,
           coalesce(sh.holders, 1) - 1 AS peers_holding,
           u.first_used_at IS NOT NULL AND u.first_used_at <= b.as_of AS used,
           row_number() OVER (PARTITION BY h.principal_id ORDER BY h.granted_at, h.scope) AS gain_rank
    FROM held_at_as_of AS h
    CROSS JOIN bounds AS b
    LEFT JOIN held_at_lookback_start AS s USING (principal_id, scope)
    LEFT JOIN principal_kind AS k ON k.principal_id = h.principal_id
    LEFT JOIN kind_sizes AS ks ON ks.agent_kind = k.agent_kind
    LEFT JOIN scope_holders AS sh ON sh.agent_kind = k.agent_kind AND sh.scope = h.scope
    LEFT JOIN scope_usage AS u ON u.principal_id = h.principal_id AND u.scope = h.scope
    WHERE s.scope IS NULL AND h.granted_at > b.lookback_start
),
-- Variant a: net growth of at least min_new_scopes with no removal in the window. A
-- removal in the same window makes it a scope swap, the usual shape of a legitimate re-scope.
filter_net_growth AS (
    SELECT c.principal_id,
           max(n.granted_at) FILTER (WHERE n.gain_rank = $min_new_scopes) AS triggered_at
    FROM scope_counts AS c
    JOIN selection_new_scopes AS n USING (principal_id)
    LEFT JOIN removals AS r USING (principal_id)
    WHERE c.current_count - c.baseline_count >= $min_new_scopes
      AND coalesce(r.removed_in_window, 0) = 0
    GROUP BY c.principal_id
),
-- Variant b: a high-risk scope that no peer holds. A principal with fewer than min_peers
-- peers has no population to compare with, so only a critical (admin-equivalent) scope
-- alerts for it, e.g. AdministratorAccess attached to a freshly created IAM user.
filter_peerless_high_risk AS (
    SELECT principal_id, min(granted_at) AS triggered_at
    FROM selection_new_scopes
    WHERE high_risk AND peers_holding = 0 AND (peers_count >= $min_peers OR critical)
    GROUP BY principal_id
),
alerting AS (
    SELECT principal_id,
           a.triggered_at AS growth_at,
           b.triggered_at AS peerless_at
    FROM filter_net_growth AS a
    FULL JOIN filter_peerless_high_risk AS b USING (principal_id)
),
evidence AS (
    SELECT n.principal_id,
           any_value(n.agent_id) AS agent_id,
           any_value(n.agent_kind) AS agent_kind,
           min(n.granted_at) AS first_gain_at,
           list(n.grant_event_id ORDER BY n.grant_event_id) AS event_ids,
           list(struct_pack(
                   scope := n.scope,
                   granted_at := iso_utc(n.granted_at),
                   high_risk := n.high_risk,
                   used := n.used,
                   peers_holding := n.peers_holding
               ) ORDER BY n.granted_at, n.scope) AS new_scopes,
           list(n.scope ORDER BY n.scope) AS scope_names,
           list(n.scope ORDER BY n.scope) FILTER (WHERE NOT n.used) AS never_used,
           list(n.scope ORDER BY n.scope)
               FILTER (WHERE n.high_risk AND n.peers_holding = 0) AS peerless_high_risk,
           bool_or(n.high_risk) AS any_high_risk,
           max(n.peers_count) AS peers_count
    FROM selection_new_scopes AS n
    JOIN alerting AS a USING (principal_id)
    -- Variant b alone cites only its peerless high-risk scopes.
    WHERE a.growth_at IS NOT NULL OR (n.high_risk AND n.peers_holding = 0)
    GROUP BY n.principal_id
)
SELECT
    'principal' AS entity_type,
    e.principal_id AS entity_id,
    e.agent_id,
    e.first_gain_at AS window_start,
    least(a.growth_at, a.peerless_at) AS window_end,
    e.event_ids AS evidence_event_ids,
    CASE WHEN e.any_high_risk THEN 'high' ELSE 'medium' END AS severity,
    concat_ws('; ',
        format('Principal {} (agent {}) gained {} scope(s) in the last {} days ({} -> {} held, {} removed)',
               e.principal_id, coalesce(e.agent_id, 'unknown'), len(e.scope_names),
               $lookback_days, c.baseline_count, c.current_count,
               coalesce(r.removed_in_window, 0)),
        CASE WHEN a.growth_at IS NULL THEN NULL
             ELSE format('{} never used', len(coalesce(e.never_used, []))) END,
        CASE WHEN a.peerless_at IS NULL THEN NULL
             WHEN e.peers_count = 0
             THEN format('admin-equivalent {} granted, with no other {} principal to compare with',
                         array_to_string(e.peerless_high_risk, ', '),
                         coalesce(e.agent_kind, 'unknown'))
             ELSE format('high-risk {} held by none of its {} {} peers',
                         array_to_string(e.peerless_high_risk, ', '), e.peers_count,
                         coalesce(e.agent_kind, 'unknown')) END
    ) || '; review who approved: ' || array_to_string(e.scope_names, ', ') AS explanation,
    json_object(
        'variants', list_filter(
            [CASE WHEN a.growth_at IS NOT NULL THEN 'net_growth' END,
             CASE WHEN a.peerless_at IS NOT NULL THEN 'peerless_high_risk' END],
            lambda v: v IS NOT NULL),
        'new_scopes', e.new_scopes,
        'never_used_scopes', coalesce(e.never_used, []),
        'peerless_high_risk_scopes', coalesce(e.peerless_high_risk, []),
        'agent_kind', e.agent_kind,
        'peers_count', e.peers_count,
        'baseline_scope_count', c.baseline_count,
        'current_scope_count', c.current_count,
        'removed_in_window', coalesce(r.removed_in_window, 0),
        'lookback_days', $lookback_days,
        'min_new_scopes', $min_new_scopes
    ) AS details
FROM evidence AS e
JOIN alerting AS a USING (principal_id)
JOIN scope_counts AS c USING (principal_id)
LEFT JOIN removals AS r USING (principal_id)
