"""`agentaudit sql`: read-only SQL over the warehouse and the Parquet lake.

With a QUERY it runs once and prints the result. Without one it reads statements from
stdin, each ending with a semicolon, and prints each result: an interactive shell on a
terminal, a script runner on a pipe. Each statement opens and closes its own read-only
connection, so an idle shell never keeps a Dagster job from writing the warehouse.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import click
import duckdb

from pipelines.cli.rendering import OUTPUT_FORMATS, WAIT_OPTION, CommandError, write_rows
from pipelines.investigations.connection import (
    WarehouseBusy,
    WarehouseMissing,
    reader,
)
from pipelines.settings import load_settings

SHELL_HELP = """\
Statements end with ';'. Commands:
  .tables          list tables and views
  .schema NAME     show the columns of a table or view
  .help            show this help
  .quit            leave the shell (also .exit or end of input)"""

_TABLES = """
SELECT table_name AS name,
       CASE WHEN table_catalog = 'temp' THEN 'lake view'
            WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END AS kind
FROM information_schema.tables
ORDER BY name
"""


def error_message(error: Exception) -> str:
    """Return a DuckDB error on one line, keeping hints such as "Did you mean" but not the
    echoed query and its caret."""
    lines = [line.strip() for line in str(error).splitlines()]
    kept = [line for line in lines if line and not line.startswith("LINE ") and set(line) != {"^"}]
    return "; ".join(kept) or type(error).__name__


class Session:
    """Target of each statement: the warehouse read-only or, with `lake_only`, the lake."""

    def __init__(self, warehouse_path: Path, lake_dir: Path, lake_only: bool, wait: float):
        self.warehouse_path = warehouse_path
        self.lake_dir = lake_dir
        self.lake_only = lake_only
        self.wait = wait

    def run(
        self, statement: str, *, lake_views: bool | None = None
    ) -> tuple[list[str], list[tuple]] | None:
        """Run one statement on a fresh connection; None for a statement with no result set.

        The lake views are added when the statement names one (or `lake_views` is True).
        Raises CommandError with one line for bad SQL, a missing or busy warehouse.
        """
        if lake_views is None:
            lake_views = "lake_" in statement.lower()
        try:
            with reader(
                self.warehouse_path,
                self.lake_dir,
                lake_only=self.lake_only,
                lake_views=lake_views,
                wait_seconds=self.wait,
            ) as con:
                cursor = con.execute(statement)
                if cursor.description is None:
                    return None
                columns = [column[0] for column in cursor.description]
                return columns, cursor.fetchall()
        except (WarehouseMissing, WarehouseBusy) as exc:
            raise CommandError(str(exc)) from exc
        except duckdb.CatalogException as exc:
            message = error_message(exc)
            if "lake_" in message:
                message += (
                    f"; lake views exist only once Parquet files are under {self.lake_dir}: "
                    "run `agentaudit ingest` or `agentaudit demo` first"
                )
            raise CommandError(message) from exc
        except duckdb.Error as exc:
            raise CommandError(error_message(exc)) from exc


def _meta_command(session: Session, line: str, output_format: str) -> bool:
    """Run a dot command; return False when the shell should stop."""
    name, _, argument = line.partition(" ")
    argument = argument.strip().rstrip(";").strip()
    if name in (".quit", ".exit"):
        return False
    if name == ".help":
        click.echo(SHELL_HELP)
    elif name == ".tables":
        _print_result(session.run(_TABLES, lake_views=True), output_format)
    elif name == ".schema":
        if not argument:
            raise CommandError(".schema needs a table or view name, e.g. .schema alerts")
        quoted = '"' + argument.replace('"', '""') + '"'
        _print_result(session.run(f"DESCRIBE {quoted}", lake_views=True), output_format)
    else:
        raise CommandError(f"unknown command {name}; type .help for the list")
    return True


def _print_result(result: tuple[list[str], list[tuple]] | None, output_format: str) -> None:
    if result is not None:
        write_rows(*result, output_format)
    # A shell on a pipe must show each result before it waits for the next line.
    sys.stdout.flush()


def run_statements(
    session: Session,
    lines: Iterable[str],
    output_format: str,
    prompt: Callable[[bool], None] | None = None,
) -> int:
    """Run the statements and dot commands in `lines`; return the number that failed.

    A statement runs when a line ends with ';'. Text left without a semicolon at the end
    of input runs as a last statement.
    """
    failures = 0
    buffer: list[str] = []
    if prompt:
        prompt(False)
    for raw in lines:
        line = raw.rstrip("\n")
        keep_going = True
        try:
            if not buffer and line.strip().startswith("."):
                keep_going = _meta_command(session, line.strip(), output_format)
            elif line.strip():
                buffer.append(line)
                if line.rstrip().endswith(";"):
                    statement, buffer = "\n".join(buffer), []
                    _print_result(session.run(statement), output_format)
        except CommandError as exc:
            failures += 1
            exc.show()
        if not keep_going:
            return failures
        if prompt:
            prompt(bool(buffer))
    if buffer:
        try:
            _print_result(session.run("\n".join(buffer)), output_format)
        except CommandError as exc:
            failures += 1
            exc.show()
    return failures


class TerminalLines:
    """Lines typed at a terminal, read with `input` so readline gives editing and history."""

    def __init__(self):
        self.continuing = False

    def prompt(self, continuing: bool) -> None:
        self.continuing = continuing

    def __iter__(self):
        try:
            import readline  # noqa: F401 - importing it turns on line editing for input()
        except ImportError:
            pass
        while True:
            try:
                yield input("   ...> " if self.continuing else "agentaudit> ")
            except (EOFError, KeyboardInterrupt):
                return


@click.command(name="sql")
@click.argument("query", required=False)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(OUTPUT_FORMATS),
    default="table",
    show_default=True,
    help="Output as a terminal table, CSV with a header, or a JSON array.",
)
@click.option(
    "--lake",
    "lake_only",
    is_flag=True,
    help="Query only the Parquet lake (views lake_decisions, lake_quarantine) in memory; "
    "never opens the warehouse file, so it works while a job writes it.",
)
@WAIT_OPTION
def sql_command(query: str | None, output_format: str, lake_only: bool, wait: float) -> None:
    """Run read-only SQL on the warehouse; without QUERY, start a shell reading stdin.

    Besides the warehouse tables (decision_events, tasks, credentials, grants, scope_usage,
    access_map, alerts, deliveries, quarantine), the views lake_decisions and
    lake_quarantine read the Parquet lake directly. Exit code 0 on success, 1 when a
    statement failed or the warehouse is missing or busy, 2 on a usage error.
    """
    settings = load_settings()
    session = Session(settings.warehouse_path, settings.lake_dir, lake_only, wait)
    if query == "-":
        query = sys.stdin.read()
    if query is not None:
        if not query.strip():
            raise click.UsageError("QUERY is empty")
        _print_result(session.run(query), output_format)
        return
    if sys.stdin.isatty():
        click.echo("agentaudit SQL shell (read-only). Type .help for commands.", err=True)
        terminal = TerminalLines()
        run_statements(session, terminal, output_format, terminal.prompt)
        click.echo("", err=True)
        return
    # A script on stdin fails as a whole when any of its statements failed.
    if run_statements(session, sys.stdin, output_format):
        sys.exit(1)
