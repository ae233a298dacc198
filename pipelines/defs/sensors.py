"""Sensors: start a load-and-detect run when new files land in the Parquet lake."""

import dagster as dg

from pipelines.defs.jobs import load_and_detect_job
from pipelines.defs.resources import AgentauditResource


def lake_state(decisions_dir) -> tuple[int, int]:
    """Return the number of Parquet files under `decisions_dir` and the newest mtime in ns."""
    count = 0
    newest = 0
    if decisions_dir.exists():
        for path in decisions_dir.glob("event_date=*/*.parquet"):
            count += 1
            newest = max(newest, path.stat().st_mtime_ns)
    return count, newest


@dg.sensor(
    job=load_and_detect_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs load_and_detect when the ingest worker writes new lake files.",
)
def new_lake_files(context: dg.SensorEvaluationContext, agentaudit: AgentauditResource):
    decisions_dir = agentaudit.settings().decisions_dir
    count, newest = lake_state(decisions_dir)
    cursor = f"{count}:{newest}"
    if count == 0 or cursor == context.cursor:
        return dg.SkipReason(f"no new lake files under {decisions_dir}")
    context.update_cursor(cursor)
    return dg.RunRequest(run_key=f"lake-{cursor}")
