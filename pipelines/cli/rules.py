"""`agentaudit rules`: list, lint and document the detection rules, and advise on grants."""

from __future__ import annotations

from pathlib import Path

import click

from detections.advice import DEFAULT_REPLAY_DAYS, advise_unused_grants
from detections.catalog import ThresholdError, lint_rules, load_rules, validate_threshold_config
from detections.catalog_doc import DEFAULT_OUTPUT, render_catalog, write_catalog
from pipelines.cli.rendering import OUTPUT_FORMATS, CommandError, write_rows
from pipelines.investigations.connection import WarehouseBusy, WarehouseMissing, reader
from pipelines.settings import load_settings


@click.group("rules")
def rules_group() -> None:
    """Inspect the detection rules and their configuration."""


@rules_group.command("list")
@click.option("--format", "output_format", type=click.Choice(OUTPUT_FORMATS), default="table",
              show_default=True, help="Output format.")
def list_rules(output_format: str) -> None:
    """List every rule with its severity, status, entity and thresholds in effect."""
    settings = load_settings()
    configured = settings.section("detections")
    rows = []
    for rule in load_rules():
        values = {**rule.default_thresholds, **(configured.get(rule.id) or {})}
        thresholds = ", ".join(f"{name}={value}" for name, value in values.items())
        attack = ", ".join(technique["id"] for technique in rule.mitre_attack)
        rows.append((rule.id, rule.severity, rule.status, rule.entity_type, attack, thresholds))
    write_rows(["rule_id", "severity", "status", "entity", "attack", "thresholds"], rows,
               output_format)


@rules_group.command("lint")
def lint_command() -> None:
    """Validate every rule file and the `detections` configuration; exit 1 on any error."""
    errors = [str(error) for error in lint_rules()]
    if not errors:
        try:
            validate_threshold_config(load_rules(), load_settings().section("detections"))
        except ThresholdError as exc:
            errors.append(str(exc))
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if errors:
        raise SystemExit(1)
    click.echo(f"{len(load_rules())} rules valid")


@rules_group.command("catalog")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_OUTPUT, show_default=True, help="Markdown file to write.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 when the file differs from the rules' metadata.")
def catalog_command(output: Path, check: bool) -> None:
    """Generate the rule catalogue (docs/detections.md) from the rules' metadata."""
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != render_catalog():
            raise CommandError(f"{output} is out of date; run `agentaudit rules catalog`")
        click.echo(f"{output} is up to date")
        return
    changed = write_catalog(output)
    click.echo(f"{'wrote' if changed else 'unchanged'} {output}")


@rules_group.command("advise")
@click.option("--days", type=click.IntRange(min=1), default=DEFAULT_REPLAY_DAYS,
              show_default=True, help="Days of stored events to replay before as_of.")
@click.option("--as-of", "as_of", help="Replay end as ISO-8601 with offset; default: latest event.")
@click.option("--alert-id", "alert_ids", multiple=True, help="Only this unused_grant alert.")
@click.option("--format", "output_format", type=click.Choice(OUTPUT_FORMATS), default="table",
              show_default=True, help="Output format.")
def advise_command(days: int, as_of: str | None, alert_ids: tuple[str, ...],
                   output_format: str) -> None:
    """Tell, for each unused scope of the unused_grant alerts, whether removing it is safe.

    Replays the principal's stored events of the last DAYS days: a scope is safe to remove
    when no event of that principal lists it.
    """
    settings = load_settings()
    try:
        with reader(settings.warehouse_path, settings.lake_dir) as con:
            advice = advise_unused_grants(
                con, days=days, as_of=as_of, alert_ids=list(alert_ids) or None
            )
    except (WarehouseMissing, WarehouseBusy, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    columns = ["principal_id", "scope", "safe_to_remove", "actions_denied", "last_action_at",
               "example_event_id", "alert_id"]
    rows = [[item.as_dict()[column] for column in columns] for item in advice]
    write_rows(columns, rows, output_format)
