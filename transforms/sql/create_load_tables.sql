-- Create the loader's bookkeeping tables: files loaded, load runs and conflicting copies.
CREATE TABLE IF NOT EXISTS loaded_files (
    path VARCHAR PRIMARY KEY,
    size BIGINT NOT NULL,
    mtime TIMESTAMPTZ NOT NULL,
    rows BIGINT NOT NULL,
    load_id BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS load_runs (
    load_id BIGINT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    files BIGINT NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_inserted BIGINT NOT NULL,
    duplicates_skipped BIGINT NOT NULL,
    conflicts BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS event_conflicts (
    event_id VARCHAR NOT NULL,
    lake_file VARCHAR NOT NULL,
    source_partition INTEGER,
    source_offset BIGINT,
    detected_at TIMESTAMPTZ NOT NULL,
    load_id BIGINT NOT NULL
);
