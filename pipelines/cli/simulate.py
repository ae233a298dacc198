"""CLI commands of the labelled fleet simulator: `simulate` and `evaluate`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.cli.rendering import console as stdout_console
from pipelines.settings import load_settings
from pipelines.sources.simulator import (
    DEFAULT_NOISE,
    EVENTS_FILE,
    generate_events,
    plan_fleet,
    write_events,
    write_ground_truth,
)

# Shared by simulate and evaluate.
NOISE_OPTION = click.option(
    "--noise",
    type=click.FloatRange(min=0),
    default=DEFAULT_NOISE,
    show_default=True,
    help="Scale of legitimate noise (grant changes, denials, long tasks); 0 for none.",
)


def _progress(stderr: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        console=stderr,
        transient=False,
    )


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 time", param_hint="--start"
        ) from None
    if parsed.tzinfo is None:
        raise click.BadParameter(
            f"{value!r} has no UTC offset; add Z or +00:00", param_hint="--start"
        )
    return parsed


def _counted(events: Iterator[dict], counter: list[int]) -> Iterator[dict]:
    for event in events:
        counter[0] += 1
        yield event


@click.command("simulate")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed of the fleet.")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Length of the simulated period in days.",
)
@click.option(
    "--agents-per-kind",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Agents of each kind; a kind grows when its injected cases need more.",
)
@NOISE_OPTION
@click.option(
    "--start",
    default=None,
    help="Start of the period, ISO-8601 with offset; default: it ends on 2026-09-01.",
)
@click.option(
    "--inject/--no-inject",
    default=True,
    show_default=True,
    help="Inject the misbehaviour cases listed in docs/simulator.md.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for ground_truth.jsonl, fleet.json and events.ndjson; "
    "default: <data dir>/simulation.",
)
@click.option(
    "--events/--no-events",
    "write_ndjson",
    default=False,
    show_default=True,
    help="Also write the events to events.ndjson in the output folder.",
)
@click.option(
    "--produce/--no-produce",
    default=True,
    show_default=True,
    help="Produce the events to the Kafka topic of the configuration.",
)
@click.option("--topic", default=None, help="Topic to produce to; default: kafka.topic.")
def simulate(
    seed: int,
    days: int,
    agents_per_kind: int,
    noise: float,
    start: str | None,
    inject: bool,
    out_dir: Path | None,
    write_ndjson: bool,
    produce: bool,
    topic: str | None,
) -> None:
    """Simulate a fleet of agents, write its ground truth and produce its events to Kafka."""
    settings = load_settings()
    plan = plan_fleet(
        seed=seed,
        days=days,
        agents_per_kind=agents_per_kind,
        start=_parse_start(start),
        inject=inject,
    )
    out_dir = out_dir or settings.data_dir / "simulation"
    truth_path, fleet_path = write_ground_truth(plan, out_dir)
    stderr = Console(stderr=True)
    produced = 0
    counter = [0]
    with _progress(stderr) as progress:
        bar = progress.add_task(f"seed {seed}", total=days)
        events = _counted(
            generate_events(plan, noise=noise, on_day=lambda _: progress.advance(bar)), counter
        )
        if write_ndjson and produce:
            # Write the file while producing, without holding the events in memory.
            events = _tee_to_file(events, out_dir / EVENTS_FILE)
        if produce:
            produced = _produce(settings, events, topic)
        elif write_ndjson:
            write_events(events, out_dir / EVENTS_FILE)
        else:
            for _ in events:
                pass
    clean = sum(1 for agent in plan.agents if agent.clean)
    click.echo(
        f"seed {seed}: {len(plan.agents)} agents ({clean} clean), {days} days, "
        f"{counter[0]} events, {len(plan.ground_truth)} ground-truth rows in {truth_path}"
    )
    click.echo(f"fleet description: {fleet_path}")
    if write_ndjson:
        click.echo(f"events: {out_dir / EVENTS_FILE}")
    if produce:
        click.echo(f"produced {produced} events to {topic or settings.topic}")


def _tee_to_file(events: Iterator[dict], path: Path) -> Iterator[dict]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event, separators=(",", ":")) + "\n")
            yield event


def _produce(settings, events: Iterator[dict], topic: str | None) -> int:
    from kafka.errors import KafkaError

    from pipelines.kafka.broker import BrokerError
    from pipelines.kafka.producer import ProduceError, produce_events

    try:
        return produce_events(settings, events, topic=topic)
    except (BrokerError, KafkaError, ProduceError) as exc:
        raise click.ClickException(
            f"producing simulated events failed: {exc}. Check the broker "
            "(python -m pipelines.kafka.broker status), or rerun with --no-produce --events "
            "to write the events to a file instead."
        ) from exc


def _score_table(report) -> Table:
    table = Table(
        title=(
            f"seed {report.seed}, {report.days} days, {report.agents} agents, "
            f"noise {report.noise}: {report.events} events, {report.alerts} alerts"
        ),
        title_justify="left",
    )
    for column in ("rule", "TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for rule in report.scores.values():
        table.add_row(
            rule.rule_id,
            str(rule.true_positives),
            str(rule.false_positives),
            str(rule.false_negatives),
            f"{rule.precision:.3f}",
            f"{rule.recall:.3f}",
            f"{rule.f1:.3f}",
        )
    return table


@click.command("evaluate")
@click.option("--seed", type=int, default=None, help="Random seed; default 7.")
@click.option(
    "--days", type=click.IntRange(min=1), default=None, help="Period in days; default 100."
)
@click.option(
    "--agents-per-kind",
    type=click.IntRange(min=1),
    default=None,
    help="Agents of each kind; default 10.",
)
@NOISE_OPTION
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the lake and warehouse here instead of a temporary folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--check",
    is_flag=True,
    help="Exit with code 1 unless every rule has recall 1.0 and precision >= 0.95.",
)
def evaluate(
    seed: int | None,
    days: int | None,
    agents_per_kind: int | None,
    noise: float,
    workdir: Path | None,
    as_json: bool,
    check: bool,
) -> None:
    """Measure each rule's precision and recall on a simulated fleet with known misbehaviour.

    Events skip Kafka: they are normalized and written straight to a temporary lake, then
    loaded, modelled and scanned with the configured thresholds and boundaries.
    """
    from pipelines import evaluation

    seed = evaluation.DEFAULT_SEED if seed is None else seed
    days = days or evaluation.DEFAULT_DAYS
    agents_per_kind = agents_per_kind or evaluation.DEFAULT_AGENTS_PER_KIND
    stderr = Console(stderr=True)
    with _progress(stderr) as progress:
        bar = progress.add_task(f"simulating seed {seed}", total=days)
        report = evaluation.evaluate_fleet(
            load_settings(),
            seed=seed,
            days=days,
            agents_per_kind=agents_per_kind,
            noise=noise,
            workdir=workdir,
            on_day=lambda _: progress.advance(bar),
        )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        out = stdout_console()
        out.print(_score_table(report))
        for rule in report.scores.values():
            if rule.false_positive_ids:
                out.print(f"{rule.rule_id} false positives: {', '.join(rule.false_positive_ids)}")
            if rule.false_negative_ids:
                out.print(f"{rule.rule_id} missed: {', '.join(rule.false_negative_ids)}")
        out.print(
            f"alerts on clean agents: {len(report.clean_agent_alerts)}; "
            f"as of {report.as_of}; {report.seconds} s"
        )
    if check and not report.meets_bar():
        raise SystemExit(1)
