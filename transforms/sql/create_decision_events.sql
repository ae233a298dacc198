-- Create decision_events: the contract columns (filled in from EVENT_SCHEMA), then lineage.
CREATE TABLE IF NOT EXISTS decision_events (
    {event_columns},
    event_date DATE,
    lake_file VARCHAR NOT NULL,
    load_id BIGINT NOT NULL
);
