-- Create an empty quarantine view with the columns quarantine files have, for a lake without any.
CREATE OR REPLACE VIEW quarantine AS
SELECT
    NULL::BLOB AS raw_value,
    NULL::BLOB AS raw_key,
    NULL::VARCHAR AS reason,
    NULL::VARCHAR AS field,
    NULL::VARCHAR AS source_topic,
    NULL::INTEGER AS source_partition,
    NULL::BIGINT AS source_offset,
    NULL::TIMESTAMPTZ AS message_timestamp,
    NULL::TIMESTAMPTZ AS quarantined_at,
    NULL::DATE AS ingest_date,
    NULL::VARCHAR AS lake_file
WHERE false;
