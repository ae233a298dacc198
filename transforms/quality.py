"""Data-quality checks on each newly loaded batch, run as Great Expectations 1.x suites.

A batch is the rows of decision_events that one `load_lake` call inserted (one load_id),
plus the tasks those rows touch. GX runs on pandas frames in an ephemeral context: GX 1.x
has no Polars engine and fails on DuckDB through SQLAlchemy. Each check returns a plain
`CheckOutcome`; `CHECK_SPECS` lists every check up front so an orchestrator can declare
them before running. Blocking checks (severity error) must pass before detections run;
the others warn.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import duckdb
import pandas as pd

from transforms.contract import (
    EARLIEST_EVENT_TIME,
    FIELDS,
    REQUIRED_FIELDS,
    SCHEMA_VERSION,
)

# GX reads this when a context starts; analytics would send events off the machine.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

logger = logging.getLogger(__name__)
# Each ephemeral context logs the temporary folder of its unused docs site at INFO.
logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

MAX_FAILING_IDS = 100
MAX_FUTURE_SKEW = timedelta(days=1)
TOOL_EVENT_TYPES = ("tool_selected", "tool_invoked")
ENUM_FIELDS = tuple(f for f in FIELDS if f.kind == "enum")

EVENT_COLUMNS = (
    "event_id",
    "schema_version",
    "event_time",
    "event_type",
    "agent_id",
    "principal_id",
    "principal_type",
    "action",
    "data_classification",
    "decision",
    "outcome",
    "credential_issued_at",
    "credential_expires_at",
)


@dataclass(frozen=True)
class CheckSpec:
    """A data-quality check: its name, the table it checks and whether it blocks."""

    name: str
    table: str
    blocking: bool
    description: str


CHECK_SPECS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "event_id_unique",
        "decision_events",
        True,
        "event_id is unique within the batch",
    ),
    CheckSpec(
        "required_fields_not_null",
        "decision_events",
        True,
        f"required fields are present: {', '.join(REQUIRED_FIELDS)}",
    ),
    CheckSpec(
        "enum_values_valid",
        "decision_events",
        True,
        f"enum fields hold contract values: {', '.join(f.name for f in ENUM_FIELDS)}",
    ),
    CheckSpec(
        "event_time_in_range",
        "decision_events",
        True,
        "event_time is between 2000-01-01 and one day after the check runs",
    ),
    CheckSpec(
        "credential_expiry_after_issue",
        "decision_events",
        True,
        "credential_expires_at is later than credential_issued_at when both are set",
    ),
    CheckSpec(
        "task_end_after_start",
        "tasks",
        True,
        "ended_at is not before started_at for the tasks the batch touches",
    ),
    CheckSpec(
        "principal_present_on_tool_events",
        "decision_events",
        False,
        "tool_selected and tool_invoked events name their principal_id",
    ),
    CheckSpec(
        "schema_version_known",
        "decision_events",
        False,
        f'schema_version is a version this release reads ("{SCHEMA_VERSION}")',
    ),
)
SPECS_BY_NAME = {spec.name: spec for spec in CHECK_SPECS}


@dataclass(frozen=True)
class CheckOutcome:
    """Result of one check on one batch.

    `failing_count` counts failing values: a row that fails on two columns of one check
    counts twice. `failing_event_ids` and `failing_task_ids` hold at most the first 100.
    `details` has the failing count per column and the thresholds used.
    """

    name: str
    table: str
    blocking: bool
    passed: bool
    description: str
    load_id: int | None
    checked_count: int
    failing_count: int
    failing_event_ids: tuple[str, ...] = ()
    failing_task_ids: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return "error" if self.blocking else "warn"


def latest_load_id(con: duckdb.DuckDBPyConnection) -> int | None:
    """Return the load_id of the most recent load, or None when nothing was loaded yet."""
    return con.execute("SELECT max(load_id) FROM load_runs").fetchone()[0]


@cache
def _context():
    """Return this process's ephemeral GX context; starting one takes about a second."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _validate(
    context,
    frame: pd.DataFrame,
    index_column: str,
    expectations: list[tuple[str, str, Any]],
    asset_name: str,
) -> dict[str, list[tuple[str, Any]]]:
    """Run (check name, column, expectation) items on `frame`; group GX's results by check.

    GX does not return results in the order expectations were added, so each expectation
    carries its check and column in `meta`.
    """
    grouped: dict[str, list[tuple[str, Any]]] = {}
    if frame.empty or not expectations:
        return grouped
    # Unique names, removed afterwards, let one context serve every call of the process.
    name = f"{asset_name}_{uuid.uuid4().hex}"
    batch_definition = (
        context.data_sources.add_pandas(name)
        .add_dataframe_asset(asset_name)
        .add_batch_definition_whole_dataframe("batch")
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for check, column, expectation in expectations:
        expectation.meta = {"check": check, "column": column}
        suite.add_expectation(expectation)
    result_format = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": MAX_FAILING_IDS,
        "unexpected_index_column_names": [index_column],
    }
    try:
        validation = batch.validate(suite, result_format=result_format)
    finally:
        context.suites.delete(name)
        context.data_sources.delete(name)
    for result in validation.results:
        meta = result.expectation_config.meta
        grouped.setdefault(meta["check"], []).append((meta["column"], result))
    return grouped


def _event_expectations(now: datetime, principal_null_share: float, unknown_share: float):
    """Return (check name, column, expectation) for every expectation on the event batch."""
    items = [("event_id_unique", "event_id", gxe.ExpectColumnValuesToBeUnique(column="event_id"))]
    for name in REQUIRED_FIELDS:
        items.append(
            ("required_fields_not_null", name, gxe.ExpectColumnValuesToNotBeNull(column=name))
        )
    for enum_field in ENUM_FIELDS:
        expectation = gxe.ExpectColumnValuesToBeInSet(
            column=enum_field.name, value_set=list(enum_field.values)
        )
        items.append(("enum_values_valid", enum_field.name, expectation))
    items.append(
        (
            "event_time_in_range",
            "event_time",
            gxe.ExpectColumnValuesToBeBetween(
                column="event_time", min_value=EARLIEST_EVENT_TIME, max_value=now + MAX_FUTURE_SKEW
            ),
        )
    )
    items.append(
        (
            "credential_expiry_after_issue",
            "credential_expires_at",
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="credential_expires_at",
                column_B="credential_issued_at",
                or_equal=False,
                ignore_row_if="either_value_is_missing",
            ),
        )
    )
    items.append(
        (
            "schema_version_known",
            "schema_version",
            gxe.ExpectColumnValuesToBeInSet(
                column="schema_version", value_set=[SCHEMA_VERSION], mostly=1.0 - unknown_share
            ),
        )
    )
    tool_check = (
        "principal_present_on_tool_events",
        "principal_id",
        gxe.ExpectColumnValuesToNotBeNull(column="principal_id", mostly=1.0 - principal_null_share),
    )
    return items, tool_check


def _ids(result: Any, column: str) -> list[str]:
    return [
        str(entry[column])
        for entry in result.result.get("partial_unexpected_index_list") or []
        if entry.get(column) is not None
    ]


def _merge(
    spec: CheckSpec,
    load_id: int | None,
    checked_count: int,
    results: Iterable[tuple[str, Any]],
    id_column: str,
    thresholds: dict[str, Any] | None = None,
) -> CheckOutcome:
    """Combine the GX results of one check's expectations into one outcome."""
    passed = True
    failing_count = 0
    failing_ids: list[str] = []
    per_column: dict[str, int] = {}
    errors = []
    for column, result in results:
        if result.exception_info and result.exception_info.get("raised_exception"):
            errors.append(f"{column}: {result.exception_info.get('exception_message')}")
            passed = False
            continue
        passed = passed and bool(result.success)
        unexpected = int(result.result.get("unexpected_count") or 0)
        per_column[column] = per_column.get(column, 0) + unexpected
        failing_count += unexpected
        failing_ids.extend(i for i in _ids(result, id_column) if i not in failing_ids)
    details: dict[str, Any] = {"failing_by_column": per_column, **(thresholds or {})}
    if errors:
        details["errors"] = errors
    ids = tuple(failing_ids[:MAX_FAILING_IDS])
    return CheckOutcome(
        name=spec.name,
        table=spec.table,
        blocking=spec.blocking,
        passed=passed,
        description=spec.description,
        load_id=load_id,
        checked_count=checked_count,
        failing_count=failing_count,
        failing_event_ids=ids if id_column == "event_id" else (),
        failing_task_ids=ids if id_column == "task_id" else (),
        details=details,
    )


def run_event_checks(
    con: duckdb.DuckDBPyConnection,
    load_id: int | None = None,
    *,
    now: datetime | None = None,
    max_principal_null_share: float = 0.05,
    max_unknown_version_share: float = 0.0,
) -> list[CheckOutcome]:
    """Check the decision_events rows of `load_id` (default: the latest load).

    The share arguments are the largest share of failing rows a warning check accepts.
    """
    load_id = latest_load_id(con) if load_id is None else load_id
    now = now or datetime.now(UTC)
    frame = con.execute(
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM decision_events WHERE load_id = ?", [load_id]
    ).df()
    if frame.empty:
        logger.warning("load %s has no rows in decision_events; event checks saw nothing", load_id)
    items, tool_check = _event_expectations(
        now, max_principal_null_share, max_unknown_version_share
    )
    context = _context()
    grouped = _validate(context, frame, "event_id", items, "batch_events")
    tool_frame = frame[frame["event_type"].isin(TOOL_EVENT_TYPES)].reset_index(drop=True)
    grouped.update(_validate(context, tool_frame, "event_id", [tool_check], "batch_tool_events"))

    thresholds = {
        "event_time_in_range": {
            "min_event_time": EARLIEST_EVENT_TIME.isoformat(),
            "max_event_time": (now + MAX_FUTURE_SKEW).isoformat(),
        },
        "principal_present_on_tool_events": {"max_null_share": max_principal_null_share},
        "schema_version_known": {"max_unknown_share": max_unknown_version_share},
    }
    checked = {"principal_present_on_tool_events": len(tool_frame)}
    outcomes = []
    for spec in CHECK_SPECS:
        if spec.table != "decision_events":
            continue
        outcome = _merge(
            spec,
            load_id,
            checked.get(spec.name, len(frame)),
            grouped.get(spec.name, []),
            "event_id",
            thresholds.get(spec.name),
        )
        outcomes.append(outcome)
    _log_outcomes(outcomes)
    return outcomes


def run_task_checks(
    con: duckdb.DuckDBPyConnection, load_id: int | None = None
) -> list[CheckOutcome]:
    """Check the tasks touched by the rows of `load_id` (default: the latest load).

    Run it after `build_identity_model`, so tasks reflects the batch.
    """
    load_id = latest_load_id(con) if load_id is None else load_id
    spec = SPECS_BY_NAME["task_end_after_start"]
    frame = con.execute(
        "SELECT task_id, started_at, ended_at FROM tasks "
        "WHERE task_id IN (SELECT task_id FROM decision_events WHERE load_id = ?)",
        [load_id],
    ).df()
    expectation = gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="ended_at",
        column_B="started_at",
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )
    item = (spec.name, "ended_at", expectation)
    grouped = _validate(_context(), frame, "task_id", [item], "batch_tasks")
    outcome = _merge(spec, load_id, len(frame), grouped.get(spec.name, []), "task_id")
    _log_outcomes([outcome])
    return [outcome]


def run_batch_checks(
    con: duckdb.DuckDBPyConnection, load_id: int | None = None, **event_options: Any
) -> list[CheckOutcome]:
    """Run every check of CHECK_SPECS on one batch, in that order.

    `event_options` go to `run_event_checks` (now, max_principal_null_share,
    max_unknown_version_share). Run it after the identity model is built.
    """
    outcomes = run_event_checks(con, load_id, **event_options) + run_task_checks(con, load_id)
    order = {spec.name: index for index, spec in enumerate(CHECK_SPECS)}
    return sorted(outcomes, key=lambda outcome: order[outcome.name])


def blocking_failures(outcomes: Iterable[CheckOutcome]) -> list[CheckOutcome]:
    """Return the outcomes that failed and block the detections downstream."""
    return [outcome for outcome in outcomes if outcome.blocking and not outcome.passed]


def _log_outcomes(outcomes: list[CheckOutcome]) -> None:
    for outcome in outcomes:
        if outcome.passed:
            logger.info(
                "check %s on load %s passed (%d rows)",
                outcome.name,
                outcome.load_id,
                outcome.checked_count,
            )
            continue
        ids = outcome.failing_event_ids or outcome.failing_task_ids
        logger.warning(
            "check %s on load %s failed (%s): %d failing values, first ids %s",
            outcome.name,
            outcome.load_id,
            outcome.severity,
            outcome.failing_count,
            ", ".join(ids[:10]),
        )
