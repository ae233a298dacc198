-- Find the copies in the new files to skip: repeats of an earlier copy in the batch, and ids already stored.
CREATE OR REPLACE TEMP TABLE batch_duplicates AS
WITH ranked AS MATERIALIZED (
    SELECT
        event_id,
        filename,
        file_row_number,
        row_number() OVER (PARTITION BY event_id ORDER BY {copy_order}) AS copy_rank
    FROM read_parquet($files, {read_options}, file_row_number = true)
)
SELECT filename, file_row_number
FROM ranked
WHERE copy_rank > 1
UNION ALL
-- An inner join, so DuckDB builds its hash table on the batch and only scans the stored
-- ids: the cost follows the batch, not the history.
SELECT ranked.filename, ranked.file_row_number
FROM ranked
JOIN decision_events AS stored ON stored.event_id = ranked.event_id
WHERE ranked.copy_rank = 1;
