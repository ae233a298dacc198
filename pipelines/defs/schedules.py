"""Schedules: the whole pipeline every hour (needs the Dagster daemon, which `dagster dev` runs)."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.jobs import pipeline_job

hourly_pipeline = dg.ScheduleDefinition(
    name="hourly_pipeline",
    job=pipeline_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Ingest, load, check, detect and export every hour on the hour.",
)
