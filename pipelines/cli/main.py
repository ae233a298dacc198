"""The `agentaudit` command line: one group, with each area's commands in its own module."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from pipelines.settings import ConfigError

# Each entry is (module, attribute) of a click command or group added to the top level.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("pipelines.cli.broker", "broker_group"),
    ("pipelines.cli.demo", "demo"),
    ("pipelines.cli.run", "run_command"),
    ("pipelines.cli.sql", "sql_command"),
    ("pipelines.cli.investigate", "investigate_group"),
    ("pipelines.cli.report", "report_command"),
    ("pipelines.cli.ingest", "ingest"),
    ("pipelines.cli.ingest", "produce_file"),
    ("pipelines.cli.ingest", "quarantine"),
    ("pipelines.cli.ingest", "compact"),
    ("pipelines.cli.importers", "import_group"),
    ("pipelines.cli.simulate", "simulate"),
    ("pipelines.cli.simulate", "evaluate"),
    ("pipelines.cli.export", "export_command"),
    ("pipelines.cli.rules", "rules_group"),
)

# Exit codes that scripts can rely on.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output: -v for info, -vv for debug.")
def cli(verbose: int) -> None:
    """Record AI agent access decisions and find where access went wrong."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


for _module, _attribute in COMMANDS:
    cli.add_command(getattr(importlib.import_module(_module), _attribute))


def main() -> None:
    """Run the CLI, turning configuration errors into a one-line message and exit code 1."""
    try:
        cli(standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)


if __name__ == "__main__":
    main()
