"""The `agentaudit` command line: one group, with each area's commands in its own module."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from pipelines.settings import ConfigError

# Each command name maps to the (module, attribute) of its click command or group. Modules
# load only when their command runs, so `agentaudit sql` does not pay for importing Dagster.
COMMANDS: dict[str, tuple[str, str]] = {
    "broker": ("pipelines.cli.broker", "broker_group"),
    "demo": ("pipelines.cli.demo", "demo"),
    "run": ("pipelines.cli.run", "run_command"),
    "sql": ("pipelines.cli.sql", "sql_command"),
    "investigate": ("pipelines.cli.investigate", "investigate_group"),
    "report": ("pipelines.cli.report", "report_command"),
    "ingest": ("pipelines.cli.ingest", "ingest"),
    "produce-file": ("pipelines.cli.ingest", "produce_file"),
    "quarantine": ("pipelines.cli.ingest", "quarantine"),
    "compact": ("pipelines.cli.ingest", "compact"),
    "import": ("pipelines.cli.importers", "import_group"),
    "simulate": ("pipelines.cli.simulate", "simulate"),
    "evaluate": ("pipelines.cli.simulate", "evaluate"),
    "export": ("pipelines.cli.export", "export_command"),
    "rules": ("pipelines.cli.rules", "rules_group"),
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target
        return getattr(importlib.import_module(module), attribute)


# Exit codes that scripts can rely on.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output: -v for info, -vv for debug.")
def cli(verbose: int) -> None:
    """Record AI agent access decisions and find where access went wrong."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if verbose < 2:
        # kafka-python warns about its own event loop timing and metadata refreshes, and
        # Great Expectations logs its temporary folders: noise for a user unless debugging.
        logging.getLogger("kafka").setLevel(logging.ERROR)
        logging.getLogger("great_expectations").setLevel(logging.WARNING)


def main() -> None:
    """Run the CLI, turning configuration errors into a one-line message and exit code 1."""
    try:
        cli(standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"error: {' '.join(str(exc).split())}", err=True)
        sys.exit(EXIT_FAILURE)
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): that is not a failure.
        sys.stderr.close()
        sys.exit(EXIT_OK)


if __name__ == "__main__":
    main()
