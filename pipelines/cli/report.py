"""`agentaudit report`: write the daily alert report as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import click
import duckdb

from pipelines.cli.rendering import WAIT_OPTION, CommandError, print_json
from pipelines.investigations.connection import (
    WarehouseBusy,
    WarehouseMissing,
)
from pipelines.report.write import write_report
from pipelines.settings import load_settings


@click.command(name="report")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="UTC day whose newly detected alerts to report, YYYY-MM-DD. Default: today.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write. Default: data/reports/agentaudit-report-YYYY-MM-DD.html.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the path and figures as JSON.")
@WAIT_OPTION
def report_command(day, out: Path | None, as_json: bool, wait: float) -> None:
    """Write the daily report: alerts per rule, severity and day, top agents, each alert's
    explanation and evidence ids, data quality and quarantine counts.

    The file needs no network: CSS and SVG charts are inline. Exit code 0 when written, 1
    when the warehouse is missing or busy or the file cannot be written, 2 on a usage error.
    """
    settings = load_settings()
    try:
        path, report = write_report(settings, day.date() if day else None, out, wait_seconds=wait)
    except (WarehouseMissing, WarehouseBusy, LookupError) as exc:
        raise CommandError(exc.args[0] if exc.args else str(exc)) from exc
    except duckdb.Error as exc:
        raise CommandError(f"report query failed: {'; '.join(str(exc).splitlines())}") from exc
    except OSError as exc:
        raise CommandError(f"cannot write the report: {exc}") from exc
    if as_json:
        print_json(
            {
                "path": str(path),
                "day": report["day"],
                "as_of": report["as_of"],
                "totals": report["totals"],
                "quarantined_on_day": report["quarantine"]["on_day"],
                "events_ingested_on_day": report["quality"]["events_ingested"],
            }
        )
    else:
        click.echo(path)
