-- Build tasks: one row per task_id with its agent, initiator, span and status.
CREATE OR REPLACE TABLE tasks AS
WITH task_events AS (
    SELECT task_id, event_id, event_time, event_type, agent_id, agent_kind, run_id, initiated_by
    FROM decision_events
    WHERE task_id IS NOT NULL
),
-- The most frequent non-null value per task; ties go to the smallest value.
agent_counts AS (
    SELECT task_id, agent_id AS value, count(*) AS n
    FROM task_events WHERE agent_id IS NOT NULL GROUP BY ALL
),
kind_counts AS (
    SELECT task_id, agent_kind AS value, count(*) AS n
    FROM task_events WHERE agent_kind IS NOT NULL GROUP BY ALL
),
run_counts AS (
    SELECT task_id, run_id AS value, count(*) AS n
    FROM task_events WHERE run_id IS NOT NULL GROUP BY ALL
),
agent_pick AS (
    SELECT task_id, arg_min(value, (-n, value)) AS agent_id FROM agent_counts GROUP BY ALL
),
kind_pick AS (
    SELECT task_id, arg_min(value, (-n, value)) AS agent_kind FROM kind_counts GROUP BY ALL
),
run_pick AS (
    SELECT task_id, arg_min(value, (-n, value)) AS run_id FROM run_counts GROUP BY ALL
),
spans AS (
    SELECT
        task_id,
        min(event_time) FILTER (WHERE event_type = 'task_started') AS started_event_time,
        arg_min(initiated_by, (event_time, event_id))
            FILTER (WHERE event_type = 'task_started' AND initiated_by IS NOT NULL)
            AS started_initiated_by,
        arg_min(initiated_by, (event_time, event_id))
            FILTER (WHERE initiated_by IS NOT NULL) AS first_initiated_by,
        -- The latest terminal event decides. At a tie of times, task_failed wins.
        max(event_time) FILTER (WHERE event_type IN ('task_completed', 'task_failed'))
            AS ended_at,
        arg_max(event_type, (event_time, event_type))
            FILTER (WHERE event_type IN ('task_completed', 'task_failed')) AS end_type,
        count(*) AS event_count,
        min(event_time) AS first_event_time,
        max(event_time) AS last_event_time
    FROM task_events
    GROUP BY task_id
)
SELECT
    spans.task_id,
    agent_pick.agent_id,
    kind_pick.agent_kind,
    run_pick.run_id,
    coalesce(spans.started_initiated_by, spans.first_initiated_by) AS initiated_by,
    coalesce(spans.started_event_time, spans.first_event_time) AS started_at,
    spans.ended_at,
    CASE spans.end_type
        WHEN 'task_completed' THEN 'completed'
        WHEN 'task_failed' THEN 'failed'
        ELSE 'open'
    END AS status,
    spans.event_count,
    spans.first_event_time,
    spans.last_event_time
FROM spans
LEFT JOIN agent_pick USING (task_id)
LEFT JOIN kind_pick USING (task_id)
LEFT JOIN run_pick USING (task_id)
ORDER BY spans.task_id;
