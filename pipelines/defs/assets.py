"""Assets from the Kafka topic to exported alerts, in pipeline order.

lake_decisions (ingest) -> decision_events (load + data-quality checks) -> identity model
(tasks, credentials, grants, scope_usage, access_map) -> alerts -> alert_exports.
Every asset that writes DuckDB runs in the `warehouse_writer` pool, whose limit the
instance sets to 1, and takes the warehouse writer lock as well.
"""

import dagster as dg

from detections.export.run import run_export
from detections.runner import run_detections
from pipelines.defs.metadata import (
    alerts_metadata,
    export_metadata,
    identity_metadata,
    ingest_metadata,
    load_metadata,
)
from pipelines.defs.resources import AgentauditResource
from pipelines.detection_config import detection_inputs, resolve_as_of
from pipelines.kafka.broker import ensure_broker
from pipelines.kafka.ingest import run_ingest
from transforms.identity import IDENTITY_TABLES, build_identity_model
from transforms.load import ensure_schema, load_lake
from transforms.views import create_views

WRITER_POOL = "warehouse_writer"
GROUP = "agentaudit"


@dg.asset(group_name=GROUP, kinds={"kafka", "parquet"})
def lake_decisions(context: dg.AssetExecutionContext, agentaudit: AgentauditResource):
    """Decision events ingested from Kafka into the Parquet lake, until the topic is caught up."""
    settings = agentaudit.settings()
    ensure_broker(settings)
    stats = run_ingest(settings, stop_when_caught_up=True)
    context.log.info(
        "ingest from topic %s: %d read, %d written, %d quarantined",
        settings.topic, stats.records_read, stats.records_written, stats.records_quarantined,
    )
    if stats.records_read == 0:
        context.log.warning("ingest found no new records on topic %s", settings.topic)
    return dg.MaterializeResult(metadata=ingest_metadata(stats))


@dg.asset(group_name=GROUP, deps=[lake_decisions], pool=WRITER_POOL, kinds={"duckdb"})
def decision_events(context: dg.AssetExecutionContext, agentaudit: AgentauditResource):
    """Lake files loaded incrementally into DuckDB, deduplicated by event_id."""
    settings = agentaudit.settings()
    with agentaudit.writer() as con:
        ensure_schema(con)
        result = load_lake(con, settings.decisions_dir)
        create_views(con, settings.lake_dir)
        metadata = load_metadata(con, result)
    context.log.info(
        "load %s: %d files, %d rows inserted, %d duplicates skipped, %d conflicts",
        result.load_id, result.files_loaded, result.rows_inserted,
        result.duplicates_skipped, result.conflicts,
    )
    if result.files_loaded == 0:
        context.log.warning("no new lake files under %s; nothing loaded", settings.decisions_dir)
    return dg.MaterializeResult(metadata=metadata)


@dg.multi_asset(
    specs=[dg.AssetSpec(name, deps=[decision_events], group_name=GROUP, kinds={"duckdb"})
           for name in IDENTITY_TABLES],
    pool=WRITER_POOL,
)
def identity_model(context: dg.AssetExecutionContext, agentaudit: AgentauditResource):
    """Tasks, credentials, grants over time, scope usage and the access map."""
    with agentaudit.writer() as con:
        build_identity_model(con)
        for name in IDENTITY_TABLES:
            metadata = identity_metadata(con, name)
            context.log.info("identity table %s: %s rows", name, metadata["row_count"])
            yield dg.MaterializeResult(asset_key=name, metadata=metadata)


@dg.asset(group_name=GROUP, deps=list(IDENTITY_TABLES), pool=WRITER_POOL, kinds={"duckdb", "sql"})
def alerts(context: dg.AssetExecutionContext, agentaudit: AgentauditResource):
    """Alerts from every detection rule, with deterministic ids and suppressions applied."""
    settings = agentaudit.settings()
    with agentaudit.writer() as con:
        latest = con.execute("SELECT max(event_time) FROM decision_events").fetchone()[0]
        as_of = resolve_as_of(agentaudit.detections_as_of, latest)
        result = run_detections(con, **detection_inputs(settings), as_of=as_of)
        metadata = alerts_metadata(con, result)
    context.log.info(
        "detections: %d alerts (%d new, %d updated, %d suppressed)",
        result.total, result.new, result.updated, result.suppressed,
    )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(group_name=GROUP, deps=[alerts], pool=WRITER_POOL, kinds={"siem"})
def alert_exports(context: dg.AssetExecutionContext, agentaudit: AgentauditResource):
    """Stable, unsuppressed alerts delivered once to every configured SIEM sink."""
    settings = agentaudit.settings()
    with agentaudit.writer() as con:
        result = run_export(con, settings.section("sinks"), base_dir=settings.data_dir)
    for sink in result.sinks:
        context.log.info(
            "sink %s: %d sent, %d updated, %d retried, %d failed, %d pending",
            sink.name, sink.sent, sink.updated, sink.retried, sink.failed, sink.pending,
        )
    return dg.MaterializeResult(metadata=export_metadata(result))
