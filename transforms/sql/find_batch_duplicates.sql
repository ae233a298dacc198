-- Find the copies in the new files that repeat an event id seen earlier in the same batch.
CREATE OR REPLACE TEMP TABLE batch_duplicates AS
SELECT filename, file_row_number
FROM (
    SELECT
        filename,
        file_row_number,
        row_number() OVER (
            PARTITION BY event_id
            ORDER BY {copy_order}
        ) AS copy_rank
    FROM read_parquet($files, {read_options}, file_row_number = true)
)
WHERE copy_rank > 1;
