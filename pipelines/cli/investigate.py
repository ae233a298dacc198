"""`agentaudit investigate`: one agent, credential or alert, as terminal tables or JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import duckdb
from rich.console import Console

from pipelines.cli.rendering import (
    WAIT_OPTION,
    CommandError,
    console,
    dicts_table,
    print_json,
    rows_table,
)
from pipelines.investigations.agent import DEFAULT_TIMELINE_LIMIT, investigate_agent
from pipelines.investigations.alert import investigate_alert
from pipelines.investigations.connection import (
    WarehouseBusy,
    WarehouseMissing,
    reader,
)
from pipelines.investigations.credential import investigate_credential
from pipelines.investigations.query import NotFound
from pipelines.settings import load_settings

_JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def _collect(function: Callable[..., dict[str, Any]], *args: Any, wait: float, **kwargs: Any):
    """Run one investigation on a read-only connection, turning failures into one line."""
    settings = load_settings()
    try:
        with reader(
            settings.warehouse_path, settings.lake_dir, lake_views=False, wait_seconds=wait
        ) as con:
            return function(con, *args, **kwargs)
    except (WarehouseMissing, WarehouseBusy, NotFound) as exc:
        raise CommandError(exc.args[0] if exc.args else str(exc)) from exc
    except duckdb.Error as exc:
        raise CommandError(f"query failed: {'; '.join(str(exc).splitlines())}") from exc


# Columns of the terminal tables; --json prints every field.
ALERT_COLUMNS = (
    "alert_id",
    "rule_id",
    "severity",
    "entity_id",
    "window_end",
    "explanation",
    "suppressed_by",
)
TIMELINE_COLUMNS = (
    "event_time",
    "event_type",
    "task_id",
    "principal_id",
    "credential_id",
    "tool",
    "action",
    "system",
    "decision",
    "outcome",
    "event_id",
)
EVENT_COLUMNS = (
    "event_time",
    "event_type",
    "agent_id",
    "task_id",
    "tool",
    "action",
    "system",
    "outcome",
    "event_id",
)


def _key_values(data: dict[str, Any], title: str):
    return rows_table(["field", "value"], list(data.items()), title)


def _print_missing(out: Console, missing: list[str]) -> None:
    if missing:
        out.print(
            f"Not built yet: {', '.join(missing)} (run the agentaudit_pipeline job).",
            markup=False,
        )


@click.group(name="investigate")
def investigate_group() -> None:
    """Show what the warehouse records about one agent, credential or alert.

    Exit code 0 when found, 1 when the id is unknown or the warehouse is missing or busy,
    2 on a usage error.
    """


@investigate_group.command(name="agent")
@click.argument("agent_id")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=DEFAULT_TIMELINE_LIMIT,
    show_default=True,
    help="Latest decisions shown in the timeline.",
)
@_JSON_OPTION
@WAIT_OPTION
def agent_command(agent_id: str, limit: int, as_json: bool, wait: float) -> None:
    """Show the timeline, identities, credentials, scopes, access and alerts of AGENT_ID."""
    data = _collect(investigate_agent, agent_id, wait=wait, timeline_limit=limit)
    if as_json:
        print_json(data)
        return
    out = console()
    out.print(_key_values(data["summary"], f"Agent {agent_id}"))
    out.print(dicts_table(data["event_types"], "Decisions by event type"))
    out.print(dicts_table(data["identities"], "Identities used"))
    out.print(
        dicts_table(
            data["credentials"],
            "Credentials held or used",
            [
                "credential_id",
                "principal_id",
                "auth_method",
                "issued_task_id",
                "issued_at",
                "expires_at",
                "is_standing",
                "revoked_at",
                "last_used_at",
                "use_count",
                "task_count",
            ],
        )
    )
    out.print(dicts_table(data["scopes"], "Scopes granted and used"))
    out.print(
        dicts_table(
            data["access_map"],
            "Access map",
            [
                "system",
                "scope",
                "actions",
                "principal_id",
                "access_basis",
                "granted_at",
                "credential_id",
                "use_count",
                "last_used_at",
            ],
        )
    )
    out.print(dicts_table(data["alerts"], "Alerts", ALERT_COLUMNS))
    out.print(
        dicts_table(
            data["timeline"], f"Timeline (latest {limit} decisions, newest first)", TIMELINE_COLUMNS
        )
    )
    _print_missing(out, data["missing_tables"])


@investigate_group.command(name="credential")
@click.argument("credential_id")
@_JSON_OPTION
@WAIT_OPTION
def credential_command(credential_id: str, as_json: bool, wait: float) -> None:
    """Trace the issue, uses per task and agent, end and alerts of CREDENTIAL_ID."""
    data = _collect(investigate_credential, credential_id, wait=wait)
    if as_json:
        print_json(data)
        return
    out = console()
    out.print(
        _key_values(
            data["credential"] or {"credential_id": credential_id}, f"Credential {credential_id}"
        )
    )
    if data["lifecycle"]:
        out.print(_key_values(data["lifecycle"], "State as of the latest event"))
    if data["issue_event"]:
        out.print(_key_values(data["issue_event"], "Issued by"))
    if data["issued_task"]:
        out.print(_key_values(data["issued_task"], "Issued for task"))
    out.print(dicts_table(data["tasks_used"], "Uses per task"))
    out.print(dicts_table(data["used_by"], "Used by"))
    out.print(dicts_table(data["alerts"], "Alerts", ALERT_COLUMNS))
    out.print(dicts_table(data["events"], "Events naming the credential", EVENT_COLUMNS))
    _print_missing(out, data["missing_tables"])


@investigate_group.command(name="alert")
@click.argument("alert_id")
@_JSON_OPTION
@WAIT_OPTION
def alert_command(alert_id: str, as_json: bool, wait: float) -> None:
    """Show the alert ALERT_ID, its evidence events, deliveries and the rule's runbook."""
    data = _collect(investigate_alert, alert_id, wait=wait)
    if as_json:
        print_json(data)
        return
    out = console()
    out.print(_key_values(data["alert"], f"Alert {alert_id}"))
    out.print(dicts_table(data["evidence"], "Evidence events", EVENT_COLUMNS))
    if data["missing_evidence_ids"]:
        out.print(
            "Evidence ids not in decision_events: " + ", ".join(data["missing_evidence_ids"]),
            markup=False,
        )
    rule = data["rule"]
    if rule:
        out.print(f"\nRule {data['alert']['rule_id']}: {rule.get('title', '')}", markup=False)
        for field in ("description", "rationale"):
            if rule.get(field):
                out.print(f"{field}: {rule[field]}", markup=False)
        for index, step in enumerate(rule.get("runbook") or [], start=1):
            out.print(f"runbook {index}. {step}", markup=False)
        for note in rule.get("false_positives") or []:
            out.print(f"false positive: {note}", markup=False)
    else:
        out.print(f"No rule.yaml for rule {data['alert']['rule_id']}.", markup=False)
    out.print(
        dicts_table(
            data["deliveries"],
            "Deliveries",
            ["sink", "status", "attempts", "last_error", "sent_at"],
        )
    )
