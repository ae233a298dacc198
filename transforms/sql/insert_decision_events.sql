-- Insert the new files' rows except the copies that find_batch_duplicates marked to skip.
INSERT INTO decision_events BY NAME
SELECT * EXCLUDE (file_row_number)
FROM (
    SELECT {projection}, file_row_number
    FROM read_parquet($files, {read_options}, file_row_number = true)
) AS incoming
WHERE NOT EXISTS (
    SELECT 1
    FROM batch_duplicates AS duplicate
    WHERE duplicate.filename = incoming.lake_file
      AND duplicate.file_row_number = incoming.file_row_number
);
