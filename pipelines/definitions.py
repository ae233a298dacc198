"""The Dagster code location of agentaudit: `dagster dev -m pipelines.definitions`."""

from __future__ import annotations

import dagster as dg

from pipelines.defs import assets, checks
from pipelines.defs.jobs import load_and_detect_job, pipeline_job
from pipelines.defs.resources import AgentauditResource
from pipelines.defs.schedules import hourly_pipeline
from pipelines.defs.sensors import new_lake_files

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=checks.ASSET_CHECKS,
    jobs=[pipeline_job, load_and_detect_job],
    schedules=[hourly_pipeline],
    sensors=[new_lake_files],
    resources={"agentaudit": AgentauditResource()},
)
