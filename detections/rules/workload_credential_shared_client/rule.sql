-- Workload credentials used from the same client (source address and user agent) as another principal.
WITH
selection_client_events AS (
    SELECT event_id, event_time, agent_id, principal_id, principal_type, credential_id,
           json_extract_string(attributes, '$.' || $client_address_attribute) AS client_address,
           json_extract_string(attributes, '$.' || $client_agent_attribute) AS client_agent
    FROM decision_events
    WHERE event_time <= $as_of
      AND contains(attributes, $client_address_attribute)
      AND principal_id IS NOT NULL
),
-- Only events that name both halves of the client can be compared.
filter_known_client AS (
    SELECT * FROM selection_client_events
    WHERE client_address IS NOT NULL AND client_agent IS NOT NULL
),
selection_workload_uses AS (
    SELECT * FROM filter_known_client
    WHERE credential_id IS NOT NULL AND principal_type IN ('workload', 'agent')
),
-- The other side: a principal that is not a workload, acting from the same client
-- within window_minutes of the workload credential's use.
filter_shared_client AS (
    SELECT w.credential_id, w.event_id, w.event_time, w.agent_id, w.principal_id,
           w.client_address, w.client_agent,
           o.principal_id AS other_principal_id, o.event_id AS other_event_id,
           o.event_time AS other_event_time
    FROM selection_workload_uses AS w
    JOIN filter_known_client AS o
      ON o.client_address = w.client_address
     AND o.client_agent = w.client_agent
     AND o.principal_id <> w.principal_id
     AND coalesce(o.principal_type, '') NOT IN ('workload', 'agent')
     AND o.event_time BETWEEN w.event_time - to_minutes(CAST($window_minutes AS INTEGER))
                          AND w.event_time + to_minutes(CAST($window_minutes AS INTEGER))
)
SELECT
    'credential' AS entity_type,
    credential_id AS entity_id,
    any_value(agent_id) AS agent_id,
    least(min(event_time), min(other_event_time)) AS window_start,
    min(event_time) AS window_end,
    list_distinct(list(event_id) || list(other_event_id)) AS evidence_event_ids,
    'high' AS severity,
    format('Workload credential {} (principal {}) was used {} time(s) from client {} / {}, '
           || 'which {} also used within {} minutes; check whether the credential left its '
           || 'workload and revoke it',
           credential_id, any_value(principal_id), count(DISTINCT event_id),
           any_value(client_address), any_value(client_agent),
           array_to_string(list(DISTINCT other_principal_id ORDER BY other_principal_id), ', '),
           $window_minutes) AS explanation,
    json_object(
        'workload_principal_id', any_value(principal_id),
        'other_principal_ids', list(DISTINCT other_principal_id ORDER BY other_principal_id),
        'client_addresses', list(DISTINCT client_address ORDER BY client_address),
        'client_agents', list(DISTINCT client_agent ORDER BY client_agent),
        'workload_uses', count(DISTINCT event_id),
        'window_minutes', $window_minutes
    ) AS details
FROM filter_shared_client
GROUP BY credential_id
