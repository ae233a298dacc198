"""Great Expectations suites on each newly loaded batch, as Dagster asset checks.

One multi-asset check runs the decision_events suite once and reports one result per
expectation group; another checks the tasks the batch touched. A failed blocking check
has ERROR severity, so Dagster skips the detections downstream of it in that run, and its
metadata lists the first failing event or task ids.
"""

import dagster as dg

from pipelines.defs.resources import AgentauditResource
from transforms.quality import CHECK_SPECS, CheckOutcome, run_event_checks, run_task_checks

# Checks read the batch and the tasks table; they hold the writer lock only because
# DuckDB allows no reader beside a writing process.
_POOL = "warehouse_writer"


def _specs(table: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            spec.name, asset=spec.table, blocking=spec.blocking, description=spec.description
        )
        for spec in CHECK_SPECS
        if spec.table == table
    ]


def _to_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    failing_ids = outcome.failing_event_ids or outcome.failing_task_ids
    metadata = {
        "load_id": outcome.load_id if outcome.load_id is not None else -1,
        "checked_rows": outcome.checked_count,
        "failing_values": outcome.failing_count,
        "blocking": outcome.blocking,
    }
    if failing_ids:
        metadata["failing_ids"] = dg.MetadataValue.md(
            "\n".join(f"- `{value}`" for value in failing_ids)
        )
    if outcome.details:
        metadata["details"] = dg.MetadataValue.json(outcome.details)
    return dg.AssetCheckResult(
        asset_key=outcome.table,
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.blocking else dg.AssetCheckSeverity.WARN,
        description=outcome.description,
        metadata=metadata,
    )


@dg.multi_asset_check(specs=_specs("decision_events"), pool=_POOL)
def decision_events_quality(agentaudit: AgentauditResource):
    """Run the decision_events suite on the latest loaded batch."""
    with agentaudit.writer() as con:
        outcomes = run_event_checks(con)
    for outcome in outcomes:
        yield _to_result(outcome)


@dg.multi_asset_check(specs=_specs("tasks"), pool=_POOL)
def tasks_quality(agentaudit: AgentauditResource):
    """Check that the tasks touched by the latest batch end after they start."""
    with agentaudit.writer() as con:
        outcomes = run_task_checks(con)
    for outcome in outcomes:
        yield _to_result(outcome)


ASSET_CHECKS = [decision_events_quality, tasks_quality]
