"""Output shared by the investigation commands: rich tables, CSV, JSON and one-line errors."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipelines.investigations.connection import DEFAULT_WAIT_SECONDS
from pipelines.investigations.query import plain_value

OUTPUT_FORMATS = ("table", "csv", "json")

# The --wait option of every command that reads the warehouse.
WAIT_OPTION = click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=DEFAULT_WAIT_SECONDS,
    show_default=True,
    help="Seconds to keep retrying while a writer has the warehouse file open.",
)
# Rows a terminal table shows at most; csv and json always print every row.
MAX_TABLE_ROWS = 1000


class CommandError(click.ClickException):
    """A failure the user can act on: printed as one `error: ...` line, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


def console() -> Console:
    """Return a console on stdout; when piped, COLUMNS wide (default 160), without colour."""
    if sys.stdout.isatty():
        return Console(highlight=False)
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else 160
    return Console(width=width, highlight=False, color_system=None)


def cell_text(value: Any) -> str:
    """Format one value for a terminal table: lists joined, None as empty, JSON for mappings."""
    value = plain_value(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(cell_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def rows_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None):
    """Build a rich table of `rows`; values are shown as plain text, never as markup.

    Values too wide for the terminal fold onto more lines; none is cut short. Ids and
    timestamps never wrap, so they can be copied whole; free text takes the space left.
    """
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        keep_whole = column.endswith(("_id", "_at", "_time")) or column in ("id", "time")
        table.add_column(column, overflow="fold", no_wrap=keep_whole)
    for row in rows:
        table.add_row(*(Text(cell_text(value)) for value in row))
    return table


def dicts_table(rows: list[dict[str, Any]], title: str, columns: Sequence[str] | None = None):
    """Build a rich table from dict rows, with `columns` (default: the first row's keys)."""
    columns = list(columns or (rows[0].keys() if rows else ["(none)"]))
    return rows_table(columns, [[row.get(column) for column in columns] for row in rows], title)


def write_rows(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], output_format: str, out=None
) -> None:
    """Print a result set as a rich table, CSV with a header, or a JSON array of objects."""
    out = out or sys.stdout
    if output_format == "json":
        records = [dict(zip(columns, map(plain_value, row), strict=True)) for row in rows]
        json.dump(records, out, indent=2, default=str)
        out.write("\n")
    elif output_format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell_text(value) for value in row])
    else:
        visible_rows = rows[:MAX_TABLE_ROWS]
        console().print(rows_table(columns, visible_rows))
        if len(rows) > len(visible_rows):
            click.echo(
                f"showing {len(visible_rows)} of {len(rows)} rows; "
                "use --format csv or json for all",
                err=True,
            )


def print_json(data: Any) -> None:
    """Print `data` as indented JSON with ISO-8601 timestamps."""
    click.echo(json.dumps(plain_value(data), indent=2, default=str))
