"""CLI commands of the ingest path: ingest, produce-file, quarantine list|replay, compact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import click
from kafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from pipelines.kafka.broker import BrokerError
from pipelines.kafka.producer import ProduceError, agent_key, ensure_topic, produce_records
from pipelines.settings import load_settings

PREVIEW_CHARS = 80


def _fail_on_kafka_errors(action: str, error: Exception) -> click.ClickException:
    return click.ClickException(
        f"{action} failed: {error}. Check that the broker is reachable "
        "(python -m pipelines.kafka.broker status) or set KAFKA_BOOTSTRAP_SERVERS."
    )


@click.command("ingest")
@click.option(
    "--follow", is_flag=True, help="Keep consuming after catching up, until SIGTERM or Ctrl-C."
)
@click.option("--max-seconds", type=float, default=None, help="Stop after this many seconds.")
@click.option("--topic", default=None, help="Topic to read; default: kafka.topic in the config.")
@click.option("--group", default=None, help="Consumer group; default: kafka.consumer_group.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's counts as JSON.")
def ingest(
    follow: bool, max_seconds: float | None, topic: str | None, group: str | None, as_json: bool
) -> None:
    """Read decision events from Kafka into the Parquet lake, quarantining invalid ones."""
    from pipelines.kafka.ingest import run_ingest

    try:
        stats = run_ingest(
            load_settings(),
            stop_when_caught_up=not follow,
            max_seconds=max_seconds,
            topic=topic,
            group=group,
        )
    except (BrokerError, KafkaError) as exc:
        raise _fail_on_kafka_errors("ingest", exc) from exc
    if as_json:
        click.echo(json.dumps(stats.to_dict(), sort_keys=True))
        return
    click.echo(
        f"topic {stats.topic} group {stats.group}: read {stats.records_read}, "
        f"written {stats.records_written}, quarantined {stats.records_quarantined}, "
        f"{stats.files_written} files in {stats.flushes} flushes ({stats.stopped_because})"
    )
    if stats.commit_failures:
        click.echo(f"warning: {stats.commit_failures} commits failed; those records are read again")


def _ndjson_records(path: Path) -> Iterator[tuple[bytes | None, bytes]]:
    """Yield (agent_id key, line bytes) for each non-blank line, sent unchanged."""
    with open(path, "rb") as handle:
        for line in handle:
            value = line.rstrip(b"\r\n")
            if not value.strip():
                continue
            try:
                decoded = json.loads(value)
            except ValueError:
                decoded = None
            yield (agent_key(decoded) if isinstance(decoded, dict) else None), value


@click.command("produce-file")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--topic", default=None, help="Topic to write; default: kafka.topic in the config.")
@click.option("--json", "as_json", is_flag=True, help="Print the count as JSON.")
def produce_file(file: Path, topic: str | None, as_json: bool) -> None:
    """Send each line of an NDJSON FILE as one message, unchanged, keyed by its agent_id.

    Lines that are not valid events are sent too: the ingest worker quarantines them.
    """
    settings = load_settings()
    try:
        ensure_topic(settings, topic)
        count = produce_records(settings, _ndjson_records(file), topic=topic)
    except ProduceError as exc:
        raise click.ClickException(f"producing {file}: {exc}") from exc
    except (BrokerError, KafkaError) as exc:
        raise _fail_on_kafka_errors(f"producing {file}", exc) from exc
    target = topic or settings.topic
    if as_json:
        click.echo(json.dumps({"file": str(file), "topic": target, "produced": count}))
    else:
        click.echo(f"produced {count} messages from {file} to topic {target}")


@click.group("quarantine")
def quarantine() -> None:
    """Inspect and replay messages held back by the ingest worker."""


def _preview(raw: bytes | None) -> str:
    if raw is None:
        return "<null>"
    text = raw[:PREVIEW_CHARS].decode("utf-8", errors="replace")
    return text + ("…" if len(raw) > PREVIEW_CHARS else "")


@quarantine.command("list")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows to show; 0 for all.")
@click.option("--json", "as_json", is_flag=True, help="Print counts and rows as JSON.")
def quarantine_list(limit: int, as_json: bool) -> None:
    """Show quarantined messages: counts by reason, then the rows with their lineage."""
    from pipelines.kafka.quarantine import read_quarantine, replayed_keys, summarize

    settings = load_settings()
    rows = read_quarantine(settings)
    replayed = replayed_keys(settings)
    summary = summarize(rows, replayed)
    shown = rows if limit == 0 else rows[:limit]
    listing = [
        {
            "topic": row["source_topic"],
            "partition": row["source_partition"],
            "offset": row["source_offset"],
            "reason": row["reason"],
            "field": row["field"],
            "quarantined_at": row["quarantined_at"].isoformat(),
            "replayed": (row["source_topic"], row["source_partition"], row["source_offset"])
            in replayed,
            "value_preview": _preview(row["raw_value"]),
        }
        for row in shown
    ]
    if as_json:
        click.echo(json.dumps({"summary": summary, "rows": listing}, sort_keys=True))
        return
    console = Console()
    console.print(f"{summary['total']} quarantined messages, {summary['replayed']} replayed")
    counts = Table("reason", "count", title="by reason")
    for reason, count in summary["by_reason"].items():
        counts.add_row(reason, str(count))
    console.print(counts)
    table = Table("topic", "partition", "offset", "field", "reason", "replayed", "value")
    for item in listing:
        table.add_row(
            item["topic"],
            str(item["partition"]),
            str(item["offset"]),
            item["field"] or "",
            item["reason"],
            "yes" if item["replayed"] else "",
            item["value_preview"],
        )
    console.print(table)


@quarantine.command("replay")
@click.option("--json", "as_json", is_flag=True, help="Print the replay's counts as JSON.")
def quarantine_replay(as_json: bool) -> None:
    """Validate held messages again with the current rules; move the valid ones to the lake."""
    from pipelines.kafka.quarantine import replay_quarantine

    stats = replay_quarantine(load_settings())
    if as_json:
        click.echo(json.dumps(asdict(stats), sort_keys=True))
        return
    click.echo(
        f"replay {stats.replay_id}: {stats.replayed} replayed to the lake, "
        f"{stats.still_invalid} still invalid, {stats.skipped_already_replayed} replayed "
        f"before, {stats.skipped_uncommitted} not yet committed"
    )
    for reason, count in stats.still_invalid_reasons.items():
        click.echo(f"  still invalid ({count}): {reason}")


@click.command("compact")
@click.option("--date", "event_date", default=None, help="Only this event_date (YYYY-MM-DD).")
@click.option(
    "--min-files",
    type=int,
    default=2,
    show_default=True,
    help="Compact a date with at least this many small files.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def compact(event_date: str | None, min_files: int, as_json: bool) -> None:
    """Merge each event_date partition's small lake files into one, dropping exact duplicates."""
    from pipelines.lake.compaction import compact_lake

    stats = compact_lake(load_settings(), event_date=event_date, min_files=min_files)
    if as_json:
        click.echo(json.dumps(asdict(stats), sort_keys=True))
        return
    for action in stats.recovered:
        click.echo(f"recovered: {action}")
    click.echo(
        f"compacted {stats.partitions_compacted} partitions: {stats.files_in} files with "
        f"{stats.rows_in} rows into {stats.files_out} files with {stats.rows_out} rows "
        f"({stats.duplicates_removed} exact duplicates removed)"
    )
