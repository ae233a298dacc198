-- Agents that selected or invoked a tool, or reached a system, outside their approved boundary.
WITH
-- Agents with a boundary of their own; every other agent takes its kind's boundary, and
-- agents with neither are not checked.
own_boundary_agents AS (
    SELECT match_value AS agent_id FROM boundary_entries WHERE match_type = 'agent_id'
),
-- Two equality branches, which DuckDB applies inside the scan (an IN list only prunes
-- row groups), and only the low-cardinality columns that the combinations need.
tool_events AS (
    SELECT agent_id, agent_kind, tool, system FROM decision_events
    WHERE event_type = 'tool_selected' AND event_time <= $as_of
    UNION ALL
    SELECT agent_id, agent_kind, tool, system FROM decision_events
    WHERE event_type = 'tool_invoked' AND event_time <= $as_of
),
-- Distinct combinations first, so that glob matching runs once per combination. This pass
-- reads only low-cardinality columns; kind-level combinations leave agent_id out.
combinations AS (
    SELECT DISTINCT NULL::VARCHAR AS agent_id, e.agent_kind, e.tool, e.system,
           'agent_kind' AS match_type, e.agent_kind AS match_value
    FROM tool_events AS e
    WHERE e.agent_kind IN (SELECT match_value FROM boundary_entries
                           WHERE match_type = 'agent_kind')
    UNION ALL
    SELECT DISTINCT e.agent_id, e.agent_kind, e.tool, e.system,
           'agent_id' AS match_type, e.agent_id AS match_value
    FROM tool_events AS e
    JOIN own_boundary_agents AS a USING (agent_id)
),
-- A combination is inside when some allowed glob of its boundary matches; a boundary
-- without a list for a dimension does not check that dimension.
pattern_matches AS (
    SELECT c.agent_id, c.agent_kind, c.tool, c.system, c.match_type, c.match_value,
           bool_or(p.dimension = 'tool' AND c.tool GLOB p.pattern) AS tool_allowed,
           bool_or(p.dimension = 'system' AND c.system GLOB p.pattern) AS system_allowed
    FROM combinations AS c
    LEFT JOIN boundary_patterns AS p USING (match_type, match_value)
    GROUP BY ALL
),
filter_outside AS (
    SELECT m.*,
           b.checks_tools AND m.tool IS NOT NULL AND NOT coalesce(m.tool_allowed, false)
               AS tool_outside,
           b.checks_systems AND m.system IS NOT NULL AND NOT coalesce(m.system_allowed, false)
               AS system_outside
    FROM pattern_matches AS m
    JOIN boundary_entries AS b USING (match_type, match_value)
),
-- Materialized, so that the optimizer sees a small build side and the join below filters
-- the scan of decision_events before event_id is read.
offending AS MATERIALIZED (
    SELECT * FROM filter_outside WHERE tool_outside OR system_outside
),
selection_offending_events AS (
    SELECT e.rowid AS event_row, e.event_time, e.event_type, e.agent_id, e.agent_kind,
           e.tool, e.system, e.outcome, o.tool_outside, o.system_outside, o.match_type,
           o.agent_id AS boundary_agent_id
    FROM decision_events AS e
    JOIN offending AS o
      ON o.agent_kind IS NOT DISTINCT FROM e.agent_kind
     AND o.tool IS NOT DISTINCT FROM e.tool
     AND o.system IS NOT DISTINCT FROM e.system
    WHERE e.event_type = 'tool_selected' AND e.event_time <= $as_of
    UNION ALL
    SELECT e.rowid AS event_row, e.event_time, e.event_type, e.agent_id, e.agent_kind,
           e.tool, e.system, e.outcome, o.tool_outside, o.system_outside, o.match_type,
           o.agent_id AS boundary_agent_id
    FROM decision_events AS e
    JOIN offending AS o
      ON o.agent_kind IS NOT DISTINCT FROM e.agent_kind
     AND o.tool IS NOT DISTINCT FROM e.tool
     AND o.system IS NOT DISTINCT FROM e.system
    WHERE e.event_type = 'tool_invoked' AND e.event_time <= $as_of
),
-- A kind-level match of an agent with its own boundary does not count: its entry decides.
offending_rows AS MATERIALIZED (
    SELECT *
    FROM selection_offending_events
    WHERE (match_type = 'agent_kind'
           AND agent_id NOT IN (SELECT agent_id FROM own_boundary_agents))
       OR (match_type = 'agent_id' AND agent_id = boundary_agent_id)
),
-- event_id is read by rowid for the offending events only.
offending_events AS (
    SELECT o.*, e.event_id,
           time_bucket(to_minutes(CAST($dedup_window_minutes AS INTEGER)), o.event_time,
                       TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket_start
    FROM offending_rows AS o
    JOIN (SELECT rowid AS event_row, event_id FROM decision_events
          WHERE rowid IN (SELECT event_row FROM offending_rows)) AS e USING (event_row)
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
