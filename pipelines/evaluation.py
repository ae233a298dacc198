"""Precision and recall of the detection rules against the simulator's ground truth.

`score` compares alert pairs (rule_id, entity_id) with ground-truth pairs. `evaluate_fleet`
runs the whole path on a simulated fleet. It normalizes the events with the event contract
and writes them straight to a temporary Parquet lake, bypassing Kafka for speed. Then it
loads the lake into a temporary DuckDB warehouse, builds the identity model and runs every
rule with the configured thresholds and boundaries.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from detections.catalog import load_rules
from detections.runner import run_detections
from pipelines.detection_config import detection_inputs
from pipelines.settings import Settings
from pipelines.sources.simulator import FleetPlan, generate_events, plan_fleet
from transforms.contract import event_date, normalize_event, rows_to_table
from transforms.identity import build_identity_model
from transforms.load import load_lake

logger = logging.getLogger(__name__)

# The default scale of `agentaudit evaluate`. The period is longer than 90 days, so that
# scopes used early in the period and then no more reach the unused-grant window.
DEFAULT_SEED = 7
DEFAULT_DAYS = 100
DEFAULT_AGENTS_PER_KIND = 10
SIMULATOR_TOPIC = "simulator"


@dataclass
class RuleScore:
    """Counts and rates of one rule; the id lists name the entities behind FP and FN."""

    rule_id: str
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float
    false_positive_ids: list[str] = field(default_factory=list)
    false_negative_ids: list[str] = field(default_factory=list)


def _pairs(rows: Iterable[Any]) -> set[tuple[str, str]]:
    pairs = set()
    for row in rows:
        if isinstance(row, dict):
            pairs.add((row["rule_id"], row["entity_id"]))
        else:
            rule_id, entity_id = row[0], row[1]
            pairs.add((rule_id, entity_id))
    return pairs


def score(
    alerts: Iterable[tuple[str, str]],
    truth: Iterable[dict | tuple[str, str]],
    *,
    rule_ids: Iterable[str] = (),
) -> dict[str, RuleScore]:
    """Score alerts against ground truth, per rule.

    `alerts` contains (rule_id, entity_id) pairs and `truth` ground-truth rows or pairs.
    Duplicates count once. A rule with no alert has precision 1.0, because it raised no false
    positive, and a rule with no ground truth has recall 1.0. F1 is 0.0 when precision and
    recall are both 0.
    `rule_ids` adds rules that should appear even with neither alerts nor truth.
    """
    alert_pairs = _pairs(alerts)
    truth_pairs = _pairs(truth)
    rules = sorted({r for r, _ in alert_pairs} | {r for r, _ in truth_pairs} | set(rule_ids))
    scores: dict[str, RuleScore] = {}
    for rule_id in rules:
        alerted = {entity for rule, entity in alert_pairs if rule == rule_id}
        expected = {entity for rule, entity in truth_pairs if rule == rule_id}
        tp = len(alerted & expected)
        fp_ids = sorted(alerted - expected)
        fn_ids = sorted(expected - alerted)
        precision = tp / len(alerted) if alerted else 1.0
        recall = tp / len(expected) if expected else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[rule_id] = RuleScore(
            rule_id, tp, len(fp_ids), len(fn_ids), precision, recall, f1, fp_ids, fn_ids
        )
    return scores


@dataclass
class EvaluationReport:
    """Result of one `evaluate_fleet` run."""

    seed: int
    days: int
    agents_per_kind: int
    noise: float
    agents: int
    events: int
    alerts: int
    as_of: str | None
    seconds: float
    scores: dict[str, RuleScore]
    clean_agent_alerts: list[dict]  # alerts whose agent carries no injected case

    def meets_bar(self, *, min_precision: float = 0.95, min_recall: float = 1.0) -> bool:
        """Return whether every rule reaches the precision and recall bars."""
        return all(
            s.precision >= min_precision and s.recall >= min_recall for s in self.scores.values()
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["scores"] = {rule: asdict(value) for rule, value in self.scores.items()}
        return data


def write_lake(
    events: Iterable[dict],
    decisions_dir: Path,
    *,
    ingested_at: datetime | None = None,
    batch_rows: int = 200_000,
) -> int:
    """Normalize events with the contract and write them as hive-partitioned Parquet.

    Events arrive in event-time order, so each date's rows are contiguous; a date seen again
    later (history written before the period) gets a second file. Returns the row count.
    Lineage columns name the simulator as the topic and number the rows as offsets.
    `ingested_at` fills the ingest time of every row (default: null).
    """
    count = 0
    file_number = 0
    pending: list[dict] = []
    pending_date: str | None = None

    def flush() -> None:
        nonlocal file_number, pending
        if not pending:
            return
        folder = decisions_dir / f"event_date={pending_date}"
        folder.mkdir(parents=True, exist_ok=True)
        file_number += 1
        pq.write_table(
            rows_to_table(pending), folder / f"part-{file_number:06d}.parquet", compression="zstd"
        )
        pending = []

    for event in events:
        row = normalize_event(event)
        row["source_topic"] = SIMULATOR_TOPIC
        row["source_partition"] = 0
        row["source_offset"] = count
        row["ingested_at"] = ingested_at
        row_date = event_date(row)
        if row_date != pending_date or len(pending) >= batch_rows:
            flush()
            pending_date = row_date
        pending.append(row)
        count += 1
    flush()
    return count


def _load_alerts(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute(
        "SELECT rule_id, entity_type, entity_id, agent_id, rule_status FROM alerts "
        "ORDER BY rule_id, entity_id"
    ).fetchall()
    keys = ("rule_id", "entity_type", "entity_id", "agent_id", "rule_status")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def run_pipeline(
    plan: FleetPlan, settings: Settings, *, noise: float, workdir: Path, on_day=None
) -> tuple[int, list[dict], str | None]:
    """Simulate `plan` into a lake under `workdir`, load it, run every rule.

    Returns the event count, the alerts and the as-of time of the detection run.
    """
    decisions_dir = workdir / "lake" / "decisions"
    events = write_lake(
        generate_events(plan, noise=noise, on_day=on_day), decisions_dir, ingested_at=plan.end
    )
    inputs = detection_inputs(settings)
    con = duckdb.connect(str(workdir / "warehouse.duckdb"))
    try:
        load_lake(con, decisions_dir)
        build_identity_model(con)
        # Suppressions are a deployment's choice, not part of a rule, so they are left out.
        result = run_detections(
            con,
            thresholds=inputs["thresholds"],
            suppressions=[],
            boundaries=inputs["boundaries"],
            now=plan.end + timedelta(days=1),
        )
        alerts = _load_alerts(con)
    finally:
        con.close()
    return events, alerts, result.as_of


def evaluate_plan(
    plan: FleetPlan,
    settings: Settings,
    *,
    noise: float,
    workdir: Path,
    on_day=None,
) -> EvaluationReport:
    """Simulate `plan`, run the pipeline in `workdir` and score the alerts."""
    clock = time.perf_counter()
    events, alerts, as_of = run_pipeline(
        plan, settings, noise=noise, workdir=workdir, on_day=on_day
    )

    clean = {agent.agent_id for agent in plan.agents if agent.clean}
    scores = score(
        [(alert["rule_id"], alert["entity_id"]) for alert in alerts],
        plan.ground_truth,
        rule_ids=[rule.id for rule in load_rules()],
    )
    report = EvaluationReport(
        seed=plan.seed,
        days=plan.days,
        agents_per_kind=plan.agents_per_kind,
        noise=noise,
        agents=len(plan.agents),
        events=events,
        alerts=len(alerts),
        as_of=as_of,
        seconds=round(time.perf_counter() - clock, 1),
        scores=scores,
        clean_agent_alerts=[alert for alert in alerts if alert["agent_id"] in clean],
    )
    logger.info(
        "evaluated seed %d: %d events, %d alerts, %d on clean agents, bar met: %s",
        plan.seed,
        events,
        len(alerts),
        len(report.clean_agent_alerts),
        report.meets_bar(),
    )
    return report


def evaluate_fleet(
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    days: int = DEFAULT_DAYS,
    agents_per_kind: int = DEFAULT_AGENTS_PER_KIND,
    noise: float = 1.0,
    workdir: Path | None = None,
    on_day=None,
) -> EvaluationReport:
    """Simulate a fleet with its injected cases and noise, run every rule and score it.

    Works in a temporary folder, removed afterwards, unless `workdir` is given.
    """
    plan = plan_fleet(seed=seed, days=days, agents_per_kind=agents_per_kind)
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        return evaluate_plan(plan, settings, noise=noise, workdir=workdir, on_day=on_day)
    with tempfile.TemporaryDirectory(prefix="agentaudit-evaluate-") as temporary:
        return evaluate_plan(plan, settings, noise=noise, workdir=Path(temporary), on_day=on_day)
