-- Agents that selected or invoked a tool, or reached a system, outside their approved boundary.
WITH
-- Not materialized: each use below reads only the columns it needs, and the equality on
-- event_type (one branch per type) is applied inside the scan.
selection_tool_events AS NOT MATERIALIZED (
    SELECT event_id, event_time, event_type, agent_id, agent_kind, tool, system, outcome
    FROM decision_events
    WHERE event_type = 'tool_selected'
      AND event_time <= $as_of
    UNION ALL
    SELECT event_id, event_time, event_type, agent_id, agent_kind, tool, system, outcome
    FROM decision_events
    WHERE event_type = 'tool_invoked'
      AND event_time <= $as_of
),
-- Agents with a boundary of their own; every other agent takes its kind's boundary.
own_boundary_agents AS (
    SELECT match_value AS agent_id FROM boundary_entries WHERE match_type = 'agent_id'
),
-- Distinct combinations first, so that glob matching runs once per combination. Kind-level
-- combinations leave agent_id out, which keeps the grouping small on a large fleet.
kind_combinations AS (
    SELECT DISTINCT e.agent_kind, e.tool, e.system
    FROM selection_tool_events AS e
    WHERE e.agent_kind IN (SELECT match_value FROM boundary_entries
                           WHERE match_type = 'agent_kind')
),
agent_combinations AS (
    SELECT DISTINCT e.agent_id, e.agent_kind, e.tool, e.system
    FROM selection_tool_events AS e
    JOIN own_boundary_agents AS a USING (agent_id)
),
combinations AS (
    SELECT NULL::VARCHAR AS agent_id, agent_kind, tool, system,
           'agent_kind' AS match_type, agent_kind AS match_value
    FROM kind_combinations
    UNION ALL
    SELECT agent_id, agent_kind, tool, system, 'agent_id' AS match_type, agent_id AS match_value
    FROM agent_combinations
),
filter_outside AS (
    SELECT c.*,
           b.checks_tools AND c.tool IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM boundary_patterns AS p
               WHERE p.match_type = c.match_type AND p.match_value = c.match_value
                 AND p.dimension = 'tool' AND c.tool GLOB p.pattern
           ) AS tool_outside,
           b.checks_systems AND c.system IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM boundary_patterns AS p
               WHERE p.match_type = c.match_type AND p.match_value = c.match_value
                 AND p.dimension = 'system' AND c.system GLOB p.pattern
           ) AS system_outside
    FROM combinations AS c
    JOIN boundary_entries AS b USING (match_type, match_value)
),
offending AS (
    SELECT * FROM filter_outside WHERE tool_outside OR system_outside
),
-- Events of offending combinations: by kind for agents without their own boundary, by
-- agent for the others. The join on the few offending combinations filters the scan.
kind_offending_events AS (
    SELECT e.*, o.tool_outside, o.system_outside, o.match_type
    FROM selection_tool_events AS e
    JOIN offending AS o
      ON o.agent_kind = e.agent_kind
     AND o.tool IS NOT DISTINCT FROM e.tool
     AND o.system IS NOT DISTINCT FROM e.system
    WHERE o.match_type = 'agent_kind'
),
offending_events AS (
    SELECT k.*
    FROM kind_offending_events AS k
    ANTI JOIN own_boundary_agents AS a USING (agent_id)
    UNION ALL
    SELECT e.*, o.tool_outside, o.system_outside, o.match_type
    FROM selection_tool_events AS e
    JOIN offending AS o
      ON o.agent_id = e.agent_id
     AND o.agent_kind IS NOT DISTINCT FROM e.agent_kind
     AND o.tool IS NOT DISTINCT FROM e.tool
     AND o.system IS NOT DISTINCT FROM e.system
    WHERE o.match_type = 'agent_id'
)
SELECT
    'agent' AS entity_type,
    agent_id AS entity_id,
    agent_id,
    bucket_start AS window_start,
    bucket_start + to_minutes(CAST($dedup_window_minutes AS INTEGER)) AS window_end,
    list(event_id) AS evidence_event_ids,
    CASE WHEN bool_or(event_type = 'tool_invoked' AND outcome IS DISTINCT FROM 'denied')
         THEN 'high' ELSE 'medium' END AS severity,
    format('Agent {} ({}) used {} event(s) outside its {} boundary: tools [{}], systems [{}], first at {}; approve the tool in config/boundaries.yaml or stop the agent',
           agent_id, coalesce(any_value(agent_kind), 'unknown kind'), count(*),
           CASE WHEN bool_or(match_type = 'agent_id') THEN 'agent' ELSE 'agent_kind' END,
           coalesce(array_to_string(list(DISTINCT tool ORDER BY tool) FILTER (WHERE tool_outside), ', '), ''),
           coalesce(array_to_string(list(DISTINCT system ORDER BY system)
                                    FILTER (WHERE system_outside), ', '), ''),
           iso_utc(min(event_time))) AS explanation,
    json_object(
        'agent_kind', any_value(agent_kind),
        'boundary_source', CASE WHEN bool_or(match_type = 'agent_id') THEN 'agent_id'
                                ELSE 'agent_kind' END,
        'tools_outside', coalesce(list(DISTINCT tool ORDER BY tool) FILTER (WHERE tool_outside), []),
        'systems_outside', coalesce(list(DISTINCT system ORDER BY system)
                                    FILTER (WHERE system_outside), []),
        'event_count', count(*),
        'invoked_count', count(*) FILTER (WHERE event_type = 'tool_invoked'),
        'first_event_at', iso_utc(min(event_time))
    ) AS details
FROM (
    SELECT *,
           time_bucket(to_minutes(CAST($dedup_window_minutes AS INTEGER)), event_time,
                       TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket_start
    FROM offending_events
    WHERE tool IS NOT NULL OR system IS NOT NULL
)
GROUP BY agent_id, bucket_start
