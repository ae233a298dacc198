-- Agents with a burst of policy denials or denied outcomes within a short window.
WITH
selection_denials AS (
    SELECT event_id, event_time, agent_id, policy_id, tool, reason
    FROM decision_events
    WHERE decision = 'deny' AND event_type = 'policy_evaluated' AND event_time <= $as_of
    -- Two branches with equality filters, which DuckDB pushes into the scan; the second
    -- leaves out the rows the first one already holds.
    UNION ALL
    SELECT event_id, event_time, agent_id, policy_id, tool, reason
    FROM decision_events
    WHERE outcome = 'denied'
      AND (decision IS DISTINCT FROM 'deny' OR event_type <> 'policy_evaluated')
      AND event_time <= $as_of
),
-- Denials less than window_minutes apart belong to one cluster; a cluster is one alert.
gaps AS (
    SELECT *,
           CASE WHEN lag(event_time) OVER w IS NULL
                  OR event_time - lag(event_time) OVER w
                     > to_minutes(CAST($window_minutes AS INTEGER))
                THEN 1 ELSE 0 END AS starts_cluster,
           count(*) OVER (
               PARTITION BY agent_id ORDER BY event_time
               RANGE BETWEEN to_minutes(CAST($window_minutes AS INTEGER)) PRECEDING
                         AND CURRENT ROW
           ) AS denials_in_window
    FROM selection_denials
    WINDOW w AS (PARTITION BY agent_id ORDER BY event_time, event_id)
),
clusters AS (
    SELECT *,
           sum(starts_cluster) OVER (PARTITION BY agent_id ORDER BY event_time, event_id
                                     ROWS UNBOUNDED PRECEDING) AS cluster_no
    FROM gaps
),
-- The cluster alerts once some window of window_minutes holds min_denials denials.
filter_bursts AS (
    SELECT agent_id, cluster_no
    FROM clusters
    GROUP BY agent_id, cluster_no
    HAVING max(denials_in_window) >= $min_denials
)
SELECT
    'agent' AS entity_type,
    c.agent_id AS entity_id,
    c.agent_id,
    min(c.event_time) AS window_start,
    min(c.event_time) FILTER (WHERE c.denials_in_window >= $min_denials) AS window_end,
    list(c.event_id) AS evidence_event_ids,
    'medium' AS severity,
    format('Agent {} was denied {} time(s) between {} and {} (peak {} within {} minutes); policies [{}]; check whether it probes for access or runs with a broken configuration',
           c.agent_id, count(*), iso_utc(min(c.event_time)), iso_utc(max(c.event_time)),
           max(c.denials_in_window), $window_minutes,
           coalesce(array_to_string(list(DISTINCT c.policy_id ORDER BY c.policy_id)
                                    FILTER (WHERE c.policy_id IS NOT NULL), ', '), '')) AS explanation,
    json_object(
        'denial_count', count(*),
        'peak_denials_in_window', max(c.denials_in_window),
        'window_minutes', $window_minutes,
        'min_denials', $min_denials,
        'first_denial_at', iso_utc(min(c.event_time)),
        'last_denial_at', iso_utc(max(c.event_time)),
        'policies', coalesce(list(DISTINCT c.policy_id ORDER BY c.policy_id)
                             FILTER (WHERE c.policy_id IS NOT NULL), []),
        'tools', coalesce(list(DISTINCT c.tool ORDER BY c.tool) FILTER (WHERE c.tool IS NOT NULL), []),
        'reasons', coalesce(list(DISTINCT c.reason ORDER BY c.reason)
                            FILTER (WHERE c.reason IS NOT NULL), [])
    ) AS details
FROM clusters AS c
JOIN filter_bursts AS b USING (agent_id, cluster_no)
GROUP BY c.agent_id, c.cluster_no
