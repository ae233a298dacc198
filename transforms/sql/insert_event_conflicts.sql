-- Record copies read from the new files whose content differs from the stored copy of their id.
INSERT INTO event_conflicts
SELECT
    incoming.event_id,
    incoming.lake_file,
    incoming.source_partition,
    incoming.source_offset,
    now() AS detected_at,
    $load_id AS load_id
FROM (
    SELECT *, hash({content_columns}) AS content_hash
    FROM (SELECT {projection} FROM read_parquet($files, {read_options}))
) AS incoming
JOIN (
    SELECT event_id, hash({content_columns}) AS content_hash
    FROM decision_events
) AS stored USING (event_id)
WHERE incoming.content_hash <> stored.content_hash
  AND NOT EXISTS (
      SELECT 1
      FROM event_conflicts AS known
      WHERE known.event_id = incoming.event_id
        -- The same copy read again (e.g. after compaction) is not a new conflict.
        AND CASE
            WHEN incoming.source_offset IS NULL THEN known.lake_file = incoming.lake_file
            ELSE known.source_partition IS NOT DISTINCT FROM incoming.source_partition
                AND known.source_offset = incoming.source_offset
        END
  );
