"""`agentaudit run`: execute a Dagster job headless, recorded in the local instance."""

from __future__ import annotations

import json
import sys

import click

from pipelines.defs.runner import run_job
from pipelines.settings import load_settings

JOBS = ("agentaudit_pipeline", "load_and_detect")


@click.command("run")
@click.argument("job", type=click.Choice(JOBS), default="agentaudit_pipeline")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
def run_command(job: str, as_json: bool) -> None:
    """Run JOB in this process; exit code 1 when a step or a blocking check failed."""
    _ = load_settings().config  # fail now, with one line, on an unreadable configuration file
    summary = run_job(job)
    if as_json:
        click.echo(json.dumps(summary.__dict__, default=str))
    else:
        click.echo(
            f"run {summary.run_id} of {job}: {'succeeded' if summary.success else 'failed'}, "
            f"{len(summary.materialized)} assets materialized"
        )
        for check in summary.failed_checks:
            click.echo(f"check {check['check']} on {check['asset']} failed: {check['metadata']}")
        if summary.skipped_assets:
            click.echo(f"not materialized: {', '.join(summary.skipped_assets)}")
    if not summary.success or summary.failed_checks:
        sys.exit(1)
