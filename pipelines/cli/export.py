"""`agentaudit export`: deliver stable, unsuppressed alerts to the configured SIEM sinks."""

from __future__ import annotations

import sys

import click
import duckdb

from detections.export import ExportConfigError, ExportResult, run_export
from pipelines.cli.rendering import CommandError, console, dicts_table, print_json
from pipelines.investigations.connection import open_warehouse_reader
from pipelines.settings import load_settings
from pipelines.warehouse import WarehouseBusy, connect_writer

COUNTERS = ("sent", "updated", "retried", "failed", "pending", "unchanged", "held_failed")


@click.command(name="export")
@click.option(
    "--sink", "sink_names", multiple=True, metavar="NAME",
    help="Export only to this sink (repeatable). Default: every enabled sink.",
)  # fmt: skip
@click.option(
    "--dry-run", is_flag=True,
    help="Print what would be sent; write no file, send nothing, leave the ledger as it is.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the per-sink counts as JSON.")
def export_command(sink_names: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Send each new or changed alert once to every enabled sink (OCSF and ECS files,
    Splunk HEC, syslog CEF or LEEF, webhook) and record it in the `deliveries` table.

    Exit code 0 when every alert reached every sink. Exit code 1 when some alert is pending
    or failed (in this run or an earlier one), a sink could not start or the configuration
    is invalid. Exit code 2 on a usage error.
    """
    settings = load_settings()
    try:
        result = _run(settings, sink_names or None, dry_run)
    except ExportConfigError as exc:
        raise CommandError(f"{exc} (in {settings.config_path})") from exc
    except (FileNotFoundError, WarehouseBusy) as exc:
        raise CommandError(str(exc)) from exc
    except duckdb.Error as exc:
        raise CommandError(f"export failed: {'; '.join(str(exc).splitlines())}") from exc

    if as_json:
        print_json(result.to_dict())
    else:
        _print(result)
    if not result.ok:
        sys.exit(1)


def _run(settings, sink_names, dry_run: bool) -> ExportResult:
    sinks = settings.section("sinks")
    if not settings.warehouse_path.exists():
        raise FileNotFoundError(
            f"no warehouse at {settings.warehouse_path}: run the pipeline to build it first"
        )
    if dry_run:
        con = open_warehouse_reader(settings.warehouse_path)
        try:
            return run_export(
                con, sinks, dry_run=True, sink_names=sink_names, base_dir=settings.data_dir
            )
        finally:
            con.close()
    with connect_writer(settings.warehouse_path) as con:
        return run_export(con, sinks, sink_names=sink_names, base_dir=settings.data_dir)


def _print(result: ExportResult) -> None:
    if result.dry_run:
        for sink in result.sinks:
            for record in sink.preview:
                click.echo(f"# {sink.name} {record.action} {record.alert_id}")
                click.echo(record.payload.rstrip("\n"))
    rows = [
        {"sink": sink.name, "type": sink.type, **{name: getattr(sink, name) for name in COUNTERS}}
        for sink in result.sinks
    ]
    title = f"{result.alerts_considered} exportable alerts"
    if result.dry_run:
        title += " (dry run)"
    if rows:
        console().print(dicts_table(rows, title))
    else:
        click.echo("no sink enabled: set enabled: true under a sink in the sinks section")
    for sink in result.sinks:
        if sink.error:
            click.echo(f"error: sink {sink.name}: {sink.error}", err=True)
