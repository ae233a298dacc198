"""Export stable, unsuppressed alerts to every enabled sink, each alert once per sink."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

from detections.export.alerts import Alert, load_exportable_alerts
from detections.export.config import SinkConfig, parse_sinks, resolve_paths
from detections.export.engine import Pacing, deliver, record_batch
from detections.export.errors import ExportConfigError
from detections.export.formats.common import action_name
from detections.export.ledger import PENDING, ensure_tables, plan_deliveries, read_ledger
from detections.export.result import ExportResult, PreviewRecord, SinkResult
from detections.export.sinks import SINK_TYPES, Renderer

logger = logging.getLogger(__name__)


def run_export(
    con: duckdb.DuckDBPyConnection,
    sinks_config: Mapping[str, Any],
    *,
    environ: Mapping[str, str] = os.environ,
    dry_run: bool = False,
    sink_names: Iterable[str] | None = None,
    base_dir: Path | None = None,
    pacing: Pacing | None = None,
) -> ExportResult:
    """Deliver new and changed alerts to the selected sinks and record them in `deliveries`.

    `sinks_config` is the `sinks:` section of the configuration. Relative file paths are
    resolved against `base_dir` (the data directory), else against the working directory.
    `sink_names` limits the run to those sinks; by default every enabled sink runs.
    `pacing` replaces the backoff's sleep and random source, for tests. A dry run renders
    what would be sent into each SinkResult's `preview` and writes nothing: no file, no
    network, no ledger row.

    Raises ExportConfigError for an invalid configuration or an unknown or disabled sink
    name. A sink that cannot start (for example a missing token variable) gets `error`
    set and its alerts recorded as pending, and the other sinks still run.
    """
    if base_dir is not None:
        sinks_config = resolve_paths(sinks_config, base_dir)
    sinks = _select(parse_sinks(sinks_config), sink_names)
    # Build every renderer first, so an invalid option stops the run before any sink sends.
    renderers = {sink.name: SINK_TYPES[sink.type].build_renderer(sink) for sink in sinks}
    alerts = load_exportable_alerts(con)
    result = ExportResult(dry_run=dry_run, alerts_considered=len(alerts))
    if not dry_run:
        ensure_tables(con)
    pacing = pacing or Pacing()
    for sink in sinks:
        result.sinks.append(
            _export_sink(con, sink, renderers[sink.name], alerts, environ, dry_run, pacing)
        )
    return result


def _select(sinks: list[SinkConfig], names: Iterable[str] | None) -> list[SinkConfig]:
    if names is None:
        return [sink for sink in sinks if sink.enabled]
    by_name = {sink.name: sink for sink in sinks}
    selected = []
    for name in names:
        sink = by_name.get(name)
        if sink is None:
            known = ", ".join(by_name) or "none"
            raise ExportConfigError(f"sink {name!r} not found in the configuration; known: {known}")
        if not sink.enabled:
            raise ExportConfigError(
                f"sink {name!r} is disabled: set enabled: true under sinks.{name} to use it"
            )
        selected.append(sink)
    return selected


def _export_sink(
    con: duckdb.DuckDBPyConnection,
    sink: SinkConfig,
    render: Renderer,
    alerts: list[Alert],
    environ: Mapping[str, str],
    dry_run: bool,
    pacing: Pacing,
) -> SinkResult:
    sink_type = SINK_TYPES[sink.type]
    result = SinkResult(name=sink.name, type=sink.type)
    plan = plan_deliveries(alerts, read_ledger(con, sink.name))
    result.unchanged = plan.unchanged
    result.held_failed = plan.held_failed

    if dry_run:
        for delivery in plan.due:
            payload = render(delivery.alert, delivery.is_update).decode("utf-8", "replace")
            action = action_name(delivery.is_update)
            result.preview.append(PreviewRecord(delivery.alert.alert_id, action, payload))
        logger.info("sink %s: dry run, %d alert(s) would be sent", sink.name, len(plan.due))
        return result

    try:
        transport = sink_type.open_transport(sink, environ)
    except ExportConfigError as exc:
        result.error = str(exc)
        result.pending = len(plan.due)
        record_batch(con, sink, plan.due, PENDING, 0, str(exc))
        logger.error("sink %s: not started: %s", sink.name, exc)
        return result

    batch_size = min(sink.batch_size, sink_type.max_batch_size or sink.batch_size)
    try:
        deliver(con, sink, plan.due, render, transport, batch_size, result, pacing)
    finally:
        transport.close()
    logger.info(
        "sink %s: sent %d, updated %d, retried %d, failed %d, pending %d, unchanged %d",
        sink.name,
        result.sent,
        result.updated,
        result.retried,
        result.failed,
        result.pending,
        result.unchanged,
    )
    if result.held_failed:
        logger.warning(
            "sink %s: %d alert(s) stay failed from earlier runs; see deliveries.last_error",
            sink.name,
            result.held_failed,
        )
    return result
