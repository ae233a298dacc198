"""Headless runs of the Dagster jobs, recorded in the local instance so the UI shows them."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import dagster as dg

from pipelines.settings import REPO_ROOT

log = logging.getLogger(__name__)


@dataclass
class JobRunSummary:
    """Outcome of a headless run: materialized assets, failed checks and failed steps."""

    job_name: str
    run_id: str
    success: bool
    materialized: list[str] = field(default_factory=list)
    failed_checks: list[dict] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    skipped_assets: list[str] = field(default_factory=list)


def dagster_instance() -> dg.DagsterInstance:
    """Return the persistent instance under DAGSTER_HOME, defaulting to the repo's dagster_home."""
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / "dagster_home"))
    return dg.DagsterInstance.get()


def run_job(
    job_name: str = "agentaudit_pipeline",
    *,
    resource_config: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
) -> JobRunSummary:
    """Execute one job of the code location in this process and summarize the outcome.

    `resource_config` sets fields of the `agentaudit` resource (data_dir, topic, ...).
    `log_level` is the level of Dagster's console logger for this run.
    """
    from pipelines.definitions import defs

    job = defs.resolve_job_def(job_name)
    # Dagster's console logger prints every engine event at DEBUG; keep the assets' own
    # info lines (counts with ids) and anything worse.
    run_config: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if resource_config:
        run_config["resources"] = {"agentaudit": {"config": resource_config}}
    if instance is None:
        with dagster_instance() as persistent:
            result = job.execute_in_process(
                run_config=run_config, instance=persistent, raise_on_error=False
            )
    else:
        result = job.execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )
    summary = JobRunSummary(job_name=job_name, run_id=result.run_id, success=result.success)
    for event in result.get_asset_materialization_events():
        summary.materialized.append(event.asset_key.to_user_string())
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            summary.failed_checks.append(
                {
                    "asset": evaluation.asset_key.to_user_string(),
                    "check": evaluation.check_name,
                    "severity": evaluation.severity.value,
                    "metadata": {k: v.value for k, v in evaluation.metadata.items()},
                }
            )
    for event in result.all_events:
        if event.is_step_failure:
            summary.failed_steps.append(event.step_key)
        elif event.is_step_skipped:
            summary.skipped_assets.append(event.step_key)
    all_assets = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    summary.skipped_assets = sorted(all_assets - set(summary.materialized))
    log.info(
        "run %s of %s: success=%s, %d assets materialized, %d checks failed",
        result.run_id, job_name, result.success, len(summary.materialized),
        len(summary.failed_checks),
    )
    return summary
