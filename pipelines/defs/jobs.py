"""Jobs: the whole pipeline, and the part after the lake for when files already landed."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.assets import GROUP, lake_decisions

# Ingest from Kafka, load, check, model identities, detect and export.
pipeline_job = dg.define_asset_job(
    name="agentaudit_pipeline",
    selection=dg.AssetSelection.groups(GROUP),
    description="Ingest the topic to the lake, load DuckDB, check quality, detect and export.",
)

# Everything downstream of the lake: what the lake-file sensor runs.
load_and_detect_job = dg.define_asset_job(
    name="load_and_detect",
    selection=dg.AssetSelection.groups(GROUP) - dg.AssetSelection.assets(lake_decisions),
    description="Load new lake files into DuckDB, check quality, detect and export.",
)
