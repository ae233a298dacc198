-- Totals of one run against the stored alerts: all, new, updated, unchanged and suppressed.
SELECT
    count(*) AS total,
    count(*) FILTER (WHERE a.alert_id IS NULL) AS new,
    count(*) FILTER (WHERE a.alert_id IS NOT NULL AND a.content_hash <> r.content_hash) AS updated,
    count(*) FILTER (WHERE a.content_hash = r.content_hash) AS unchanged,
    count(*) FILTER (WHERE r.suppressed_by IS NOT NULL) AS suppressed
FROM _alert_rows AS r
LEFT JOIN alerts AS a USING (alert_id);
