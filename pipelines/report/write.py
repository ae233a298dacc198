"""Build the daily report from the warehouse and write it atomically to an HTML file."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from pipelines.investigations.connection import DEFAULT_WAIT_SECONDS, reader
from pipelines.report.data import collect_report
from pipelines.report.html import render_report
from pipelines.settings import Settings

log = logging.getLogger(__name__)


def default_report_path(settings: Settings, day: str) -> Path:
    """Return data/reports/agentaudit-report-YYYY-MM-DD.html under the data directory."""
    return settings.reports_dir / f"agentaudit-report-{day}.html"


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, fsync it, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_report(
    settings: Settings,
    day: dt.date | None = None,
    out: Path | None = None,
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
) -> tuple[Path, dict[str, Any]]:
    """Write the report for `day` (default: today, UTC); return its path and figures."""
    with reader(settings.warehouse_path, settings.lake_dir, wait_seconds=wait_seconds) as con:
        report = collect_report(con, day)
    path = out or default_report_path(settings, report["day"])
    write_atomically(path, render_report(report))
    log.info(
        "report for %s written to %s: %d alerts, %d suppressed",
        report["day"], path, report["totals"]["alerts"], report["totals"]["suppressed"],
    )
    return path, report
