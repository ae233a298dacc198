"""The Dagster code location: it loads, its sensor reacts to lake files, and a failed
blocking data-quality check stops the detections downstream in the same run."""

from __future__ import annotations

import dagster as dg

from pipelines.definitions import defs
from pipelines.defs.resources import AgentauditResource
from pipelines.defs.runner import run_job
from pipelines.defs.sensors import new_lake_files
from tests.helpers.lake import write_lake

EVENT = {
    "schema_version": "1",
    "event_time": "2026-05-01T10:00:00Z",
    "event_type": "credential_issued",
    "agent_id": "dev_assistant-01",
    "task_id": "task-1",
    "principal_id": "wl:dev_assistant-01",
    "principal_type": "workload",
    "credential_id": "cred-1",
}


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    assert {job.name for job in defs.resolve_all_job_defs()} >= {
        "agentaudit_pipeline",
        "load_and_detect",
    }
    assert defs.resolve_schedule_def("hourly_pipeline").cron_schedule == "0 * * * *"


def test_every_warehouse_writer_is_in_one_pool():
    job = defs.resolve_job_def("load_and_detect")
    for node in job.graph.node_defs:
        assert node.pool == "warehouse_writer", f"{node.name} writes DuckDB outside the pool"


def test_sensor_requests_run_only_for_new_files(data_dir):
    resource = AgentauditResource(data_dir=str(data_dir))
    decisions = data_dir / "lake" / "decisions"

    empty = new_lake_files(dg.build_sensor_context(resources={"agentaudit": resource}))
    assert isinstance(empty, dg.SkipReason)

    write_lake([{**EVENT, "event_id": "e-1"}], decisions)
    context = dg.build_sensor_context(resources={"agentaudit": resource})
    first = new_lake_files(context)
    assert isinstance(first, dg.RunRequest)

    again = new_lake_files(
        dg.build_sensor_context(cursor=context.cursor, resources={"agentaudit": resource})
    )
    assert isinstance(again, dg.SkipReason)


def test_failed_blocking_check_stops_detections(data_dir):
    bad = {
        **EVENT,
        "event_id": "e-expiry-before-issue",
        "credential_issued_at": "2026-05-01T10:00:00Z",
        "credential_expires_at": "2026-05-01T09:00:00Z",
    }
    good = {**EVENT, "event_id": "e-good", "credential_id": "cred-2"}
    write_lake([good, bad], data_dir / "lake" / "decisions")

    summary = run_job(
        "load_and_detect",
        resource_config={"data_dir": str(data_dir)},
        instance=dg.DagsterInstance.ephemeral(),
    )

    failed = {check["check"]: check for check in summary.failed_checks}
    assert "credential_expiry_after_issue" in failed
    assert "e-expiry-before-issue" in failed["credential_expiry_after_issue"]["metadata"][
        "failing_ids"
    ]
    assert "decision_events" in summary.materialized
    assert "alerts" not in summary.materialized
    assert "alert_exports" not in summary.materialized
