-- Agents that selected or invoked a tool, or reached a system, outside their approved boundary.
WITH
selection_tool_events AS (
    SELECT event_id, event_time, event_type, agent_id, agent_kind, tool, system, outcome,
           time_bucket(to_minutes(CAST($dedup_window_minutes AS INTEGER)), event_time,
                       TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket_start
    FROM decision_events
    WHERE event_type IN ('tool_selected', 'tool_invoked')
      AND (tool IS NOT NULL OR system IS NOT NULL)
      AND event_time <= $as_of
      -- With no boundary configured there is nothing to check, and nothing to scan.
      AND EXISTS (SELECT 1 FROM boundary_entries)
),
-- Distinct combinations first, so that glob matching runs once per combination.
combinations AS (
    SELECT DISTINCT agent_id, agent_kind, tool, system FROM selection_tool_events
),
-- The boundary of an agent: its own entry when config/boundaries.yaml has one, else the
-- entry of its agent_kind. Agents with neither are not checked.
agent_boundary AS (
    SELECT c.agent_id, c.agent_kind, c.tool, c.system,
           coalesce(a.match_type, k.match_type) AS match_type,
           coalesce(a.match_value, k.match_value) AS match_value,
           coalesce(a.checks_tools, k.checks_tools) AS checks_tools,
           coalesce(a.checks_systems, k.checks_systems) AS checks_systems
    FROM combinations AS c
    LEFT JOIN boundary_entries AS a ON a.match_type = 'agent_id' AND a.match_value = c.agent_id
    LEFT JOIN boundary_entries AS k ON k.match_type = 'agent_kind' AND k.match_value = c.agent_kind
    WHERE a.match_type IS NOT NULL OR k.match_type IS NOT NULL
),
filter_outside AS (
    SELECT b.*,
           b.checks_tools AND b.tool IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM boundary_patterns AS p
               WHERE p.match_type = b.match_type AND p.match_value = b.match_value
                 AND p.dimension = 'tool' AND b.tool GLOB p.pattern
           ) AS tool_outside,
           b.checks_systems AND b.system IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM boundary_patterns AS p
               WHERE p.match_type = b.match_type AND p.match_value = b.match_value
                 AND p.dimension = 'system' AND b.system GLOB p.pattern
           ) AS system_outside
    FROM agent_boundary AS b
),
offending AS (
    SELECT * FROM filter_outside WHERE tool_outside OR system_outside
),
offending_events AS (
    SELECT e.*, o.tool_outside, o.system_outside, o.match_type
    FROM selection_tool_events AS e
    JOIN offending AS o
      ON o.agent_id = e.agent_id
     AND o.agent_kind IS NOT DISTINCT FROM e.agent_kind
     AND o.tool IS NOT DISTINCT FROM e.tool
     AND o.system IS NOT DISTINCT FROM e.system
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
FROM offending_events
GROUP BY agent_id, bucket_start
