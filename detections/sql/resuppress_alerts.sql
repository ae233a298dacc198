-- Re-apply the active suppressions to stored alerts of the rules run that this run did not produce.
UPDATE alerts AS a
SET suppressed_by = (
    SELECT s.id FROM _suppressions AS s
    WHERE s.rule_id = a.rule_id
      AND a.entity_id GLOB s.entity_glob
      AND coalesce(a.agent_id, '') GLOB s.agent_glob
    ORDER BY s.position
    LIMIT 1
)
WHERE list_contains($rule_ids, a.rule_id)
  AND a.alert_id NOT IN (SELECT alert_id FROM _alert_rows);
