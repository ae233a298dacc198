-- Create the quarantine view over the quarantined records in the lake, one row per record.
CREATE OR REPLACE VIEW quarantine AS
SELECT
    * EXCLUDE (ingest_date, filename),
    TRY_CAST(ingest_date AS DATE) AS ingest_date,
    filename AS lake_file
FROM read_parquet(
    $pattern,
    hive_partitioning = true,
    union_by_name = true,
    hive_types_autocast = false,
    filename = true
);
