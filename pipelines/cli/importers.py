"""`agentaudit import cloudtrail|otel FILE...`: map real logs to decision events, produce them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from kafka.errors import KafkaError

from pipelines.kafka.broker import BrokerError
from pipelines.kafka.producer import (
    ProduceError,
    encode_event,
    ensure_topic,
    produce_events,
    produce_raw,
)
from pipelines.settings import load_settings
from pipelines.sources.cloudtrail import ImportStats, cloudtrail_events, read_cloudtrail
from pipelines.sources.common import Rejected
from pipelines.sources.otel import OtelStats, otel_events, read_otlp

FILES = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
TOPIC = click.option(
    "--topic", default=None, help="Topic to write; default: kafka.topic in the config."
)
DRY_RUN = click.option(
    "--dry-run", is_flag=True, help="Print the mapped events as NDJSON instead of producing them."
)
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")

Mapper = Callable[..., Iterator[dict[str, Any]]]


@click.group("import")
def import_group() -> None:
    """Map AWS CloudTrail or OpenTelemetry GenAI logs to decision events and send them to Kafka."""


def _run_import(
    source: str,
    files: tuple[Path, ...],
    records: Iterable[Any],
    mapper: Mapper,
    stats: ImportStats | OtelStats,
    *,
    topic: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    rejected: list[Rejected] = []
    try:
        events = list(mapper(records, on_reject=rejected.append, stats=stats))
    except ValueError as exc:  # an unreadable file, e.g. invalid gzip data
        raise click.ClickException(f"reading {source} input failed: {exc}") from exc

    produced = quarantined = 0
    target = None
    if dry_run:
        for event in events:
            click.echo(encode_event(event).decode("utf-8"))
    else:
        settings = load_settings()
        target = topic or settings.topic
        try:
            ensure_topic(settings, topic)
            produced = produce_events(settings, events, topic=topic) if events else 0
            if rejected:
                quarantined = produce_raw(
                    settings, [item.quarantine_message() for item in rejected], topic=topic
                )
        except (BrokerError, KafkaError, ProduceError) as exc:
            raise click.ClickException(
                f"producing {source} events to {target} failed: {exc}. Check that the broker "
                "is reachable (agentaudit broker status) or set KAFKA_BOOTSTRAP_SERVERS."
            ) from exc

    summary = {
        "source": source,
        "files": [str(path) for path in files],
        "topic": target,
        "dry_run": dry_run,
        "events_mapped": len(events),
        "events_produced": produced,
        "records_quarantined": quarantined,
        **asdict(stats),
    }
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True), err=dry_run)
        return
    skipped = getattr(stats, "duplicates_skipped", 0) + getattr(stats, "spans_skipped", 0)
    line = (
        f"{source}: read {stats.records_read} records from {len(files)} files, "
        f"mapped {len(events)} events, skipped {skipped}, rejected {stats.rejected}"
    )
    if dry_run:
        click.echo(line + " (dry run, nothing produced)", err=True)
    else:
        click.echo(
            f"{line}; produced {produced} events and {quarantined} quarantine records to {target}"
        )
    for reason, count in sorted(stats.reasons.items()):
        click.echo(f"  rejected {count}: {reason}", err=dry_run)


@import_group.command("cloudtrail")
@FILES
@TOPIC
@DRY_RUN
@AS_JSON
def import_cloudtrail(
    files: tuple[Path, ...], topic: str | None, dry_run: bool, as_json: bool
) -> None:
    """Import CloudTrail FILES: JSON arrays, {"Records": [...]} objects or NDJSON, maybe gzipped.

    All files are mapped together, so a role session spread over several files is one task.
    Records that cannot be mapped go to quarantine with the reason.
    """
    _run_import(
        "cloudtrail",
        files,
        read_cloudtrail(files),
        cloudtrail_events,
        ImportStats(),
        topic=topic,
        dry_run=dry_run,
        as_json=as_json,
    )


@import_group.command("otel")
@FILES
@TOPIC
@DRY_RUN
@AS_JSON
def import_otel(files: tuple[Path, ...], topic: str | None, dry_run: bool, as_json: bool) -> None:
    """Import OTLP JSON trace FILES with OpenTelemetry GenAI spans, one document or NDJSON.

    Each trace becomes one task. Spans that cannot be mapped go to quarantine with the reason.
    """
    _run_import(
        "otel",
        files,
        read_otlp(files),
        otel_events,
        OtelStats(),
        topic=topic,
        dry_run=dry_run,
        as_json=as_json,
    )
