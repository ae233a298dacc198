"""One benchmark run: every stage in order on one topic, each beside its baseline.

Stages and their bars:
  ingest       agentaudit ingest events/s >= 0.5x Kafka's Java ConsumerPerformance
  memory       peak RSS of the ingest worker at backlog N / at a smaller one, <= 1.25x
  load         load_lake seconds <= 1.5x CREATE TABLE AS SELECT * FROM read_parquet(...)
  detections   run_detections seconds <= 3x one aggregate scan of decision_events
  incremental  load_lake of 1% new data <= 0.05x a full rebuild from every lake file

The lake that load, detections and incremental read is the one the ingest worker writes,
so the ingest worker runs whenever one of those stages runs, even when `ingest` is skipped.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.benchmarks import consumers, warehouse
from pipelines.benchmarks.report import Measure, StageReport, machine_info
from pipelines.benchmarks.workload import Workload, prepare_topic
from pipelines.detection_config import detection_inputs
from pipelines.settings import Settings, load_settings

log = logging.getLogger(__name__)

STAGES = ("ingest", "memory", "load", "detections", "incremental")
INGEST_BAR = 0.5
MEMORY_BAR = 1.25
LOAD_BAR = 1.5
DETECTIONS_BAR = 3.0
INCREMENTAL_BAR = 0.05
INCREMENT_SHARE = 0.01
MEMORY_BACKLOG_DIVISOR = 10


@dataclass
class Options:
    """Options of one run: the stages it measures and the folder for its files."""

    events: int = 1_000_000
    seed: int = 1
    skip: frozenset[str] = frozenset()
    repeat: int = 1
    producers: int = 2
    fresh_topics: bool = False
    workdir: Path | None = None
    keep_workdir: bool = False
    profile_dir: Path | None = None
    detection_copies: int = 1


@dataclass
class RunState:
    """State that the stages of one run pass to each other."""

    settings: Settings
    options: Options
    workdir: Path
    base: Workload
    stages: list[StageReport] = field(default_factory=list)
    topic_bytes: int | None = None
    main_ingest: consumers.IngestRun | None = None
    warehouse_path: Path | None = None

    @property
    def data_dir(self) -> Path:
        return self.workdir / "ingest-main"

    @property
    def decisions_dir(self) -> Path:
        return self.data_dir / "lake" / "decisions"

    def runs(self, stage: str) -> bool:
        return stage not in self.options.skip


def run_benchmarks(options: Options) -> dict:
    """Run every stage that is not skipped and return the figures, measures and machine."""
    unknown = set(options.skip) - set(STAGES)
    if unknown:
        raise ValueError(
            f"unknown stage(s) {', '.join(sorted(unknown))}; stages: {', '.join(STAGES)}"
        )
    if options.events < MEMORY_BACKLOG_DIVISOR:
        raise ValueError(
            f"--events must be at least {MEMORY_BACKLOG_DIVISOR}, got {options.events}"
        )
    settings = load_settings()
    machine = machine_info()
    workdir = options.workdir or settings.data_dir / "benchmarks" / f"run-{uuid.uuid4().hex[:8]}"
    workdir.mkdir(parents=True, exist_ok=True)
    increment = max(1, round(options.events * INCREMENT_SHARE))
    state = RunState(
        settings, options, workdir, Workload(options.events, options.seed, increment=increment)
    )
    clock = time.perf_counter()
    try:
        topic = prepare_topic(
            settings, state.base, workers=options.producers, fresh=options.fresh_topics
        )
        needs_lake = any(state.runs(s) for s in ("load", "detections", "incremental"))
        if state.runs("ingest"):
            _stage(state, "ingest", _ingest_stage)
        elif needs_lake or state.runs("memory"):
            state.main_ingest = consumers.run_ingest_worker(
                settings, topic["topic"], state.data_dir
            )
        if state.runs("memory"):
            _stage(state, "memory", _memory_stage)
        if state.runs("load"):
            _stage(state, "load", _load_stage)
        if state.runs("detections") or state.runs("incremental"):
            _ensure_warehouse(state)
        if state.runs("detections"):
            _stage(state, "detections", _detections_stage)
        if state.runs("incremental"):
            _stage(state, "incremental", _incremental_stage)
        if options.profile_dir is not None:
            _profile(state)
    finally:
        if not options.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "events": options.events,
        "topic": state.base.topic,
        "topic_reused": topic["reused"],
        "repeat": options.repeat,
        "machine": machine,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.perf_counter() - clock, 1),
        "stages": [stage.to_dict() for stage in state.stages],
        "measures": [m.to_dict() for stage in state.stages for m in stage.measures],
        "workdir": str(workdir) if options.keep_workdir else None,
    }


def _stage(state: RunState, name: str, body) -> None:
    report = StageReport(name, load_average=tuple(round(x, 2) for x in os.getloadavg()))
    log.info("stage %s started (load average %s)", name, report.load_average)
    clock = time.perf_counter()
    body(state, report)
    report.seconds = time.perf_counter() - clock
    state.stages.append(report)
    log.info(
        "stage %s finished in %.1f s: %s; %s",
        name,
        report.seconds,
        report.figures,
        [(m.name, m.ratio) for m in report.measures],
    )


def _ingest_stage(state: RunState, report: StageReport) -> None:
    settings, topic = state.settings, state.base.topic
    java = consumers.read_with_java_tool(settings, topic, state.base.events)
    bare = consumers.read_with_kafka_python(settings, topic)
    state.topic_bytes = bare.bytes
    confluent = consumers.read_with_confluent_kafka(settings, topic)
    ingest = consumers.run_ingest_worker(settings, topic, state.data_dir)
    ingest.read.bytes = bare.bytes
    state.main_ingest = ingest
    for result in (java, bare, confluent, ingest.read):
        if result is not None:
            report.figures.update(result.figures())
    report.figures["ingest records written"] = ingest.stats["records_written"]
    report.figures["ingest records quarantined"] = ingest.stats["records_quarantined"]
    report.figures["ingest files written"] = ingest.stats["files_written"]
    report.figures["kafka-python loop / java"] = round(
        bare.events_per_second / java.events_per_second, 3
    )
    if confluent is not None:
        report.figures["confluent-kafka loop / java"] = round(
            confluent.events_per_second / java.events_per_second, 3
        )
    if ingest.read.cpu_seconds and java.cpu_seconds:
        # On a shared machine the CPU time each reader used varies less than its wall time.
        report.figures["ingest / java, events per CPU second"] = round(
            ingest.read.events_per_cpu_second / java.events_per_cpu_second, 3
        )
    report.measures.append(
        Measure(
            "ingest",
            "ingest events/s vs Java ConsumerPerformance",
            round(ingest.read.events_per_second / java.events_per_second, 3),
            INGEST_BAR,
            True,
        )
    )


def _memory_stage(state: RunState, report: StageReport) -> None:
    small = Workload(memory_reference_backlog(state), state.base.seed)
    prepare_topic(
        state.settings, small, workers=state.options.producers, fresh=state.options.fresh_topics
    )
    small_run = consumers.run_ingest_worker(
        state.settings, small.topic, state.workdir / "ingest-small"
    )
    shutil.rmtree(state.workdir / "ingest-small", ignore_errors=True)
    large = state.main_ingest
    report.figures[f"peak RSS at backlog {small.events:,} (MiB)"] = round(
        small_run.peak_rss_bytes / 2**20, 1
    )
    report.figures[f"peak RSS at backlog {state.base.events:,} (MiB)"] = round(
        large.peak_rss_bytes / 2**20, 1
    )
    report.measures.append(
        Measure(
            "memory",
            f"ingest peak RSS, backlog {state.base.events:,} vs {small.events:,}",
            round(large.peak_rss_bytes / small_run.peak_rss_bytes, 3),
            MEMORY_BAR,
            False,
        )
    )


def memory_reference_backlog(state: RunState) -> int:
    """Return the smaller backlog that the ingest worker's peak RSS at N is compared with.

    The worker's peak comes from its buffer, which grows until a flush at
    `batch_max_records`. A backlog shorter than a few batches never fills the buffer, so
    the reference is N/10, raised to three batches and capped at N/2.
    """
    batch = int(state.settings.section("ingest").get("batch_max_records", 100_000))
    events = state.base.events
    return min(max(events // MEMORY_BACKLOG_DIVISOR, 3 * batch), events // 2)


def _load_stage(state: RunState, report: StageReport) -> None:
    target = state.workdir / "warehouse.duckdb"
    results = []

    def plain_once() -> float:
        return warehouse.time_plain_copy(state.decisions_dir, state.workdir / "plain.duckdb")

    def load_once() -> float:
        seconds, result = warehouse.time_load(state.decisions_dir, target)
        results.append(result)
        return seconds

    plain, loaded = warehouse.paired_median_seconds(state.options.repeat, plain_once, load_once)
    (state.workdir / "plain.duckdb").unlink(missing_ok=True)
    state.warehouse_path = target
    report.figures["lake files"] = results[-1].files_loaded
    report.figures["rows"] = results[-1].rows_read
    report.figures["plain CTAS seconds"] = round(plain, 3)
    report.figures["load_lake seconds"] = round(loaded, 3)
    report.figures["load_lake rows/s"] = round(results[-1].rows_read / loaded)
    report.measures.append(
        Measure(
            "load",
            "load_lake vs plain CTAS read_parquet",
            round(loaded / plain, 3),
            LOAD_BAR,
            False,
        )
    )


def _ensure_warehouse(state: RunState) -> None:
    if state.warehouse_path is None:
        state.warehouse_path = state.workdir / "warehouse.duckdb"
        warehouse.time_load(state.decisions_dir, state.warehouse_path)


def _detections_stage(state: RunState, report: StageReport) -> None:
    path = state.warehouse_path
    copies = state.options.detection_copies
    if copies > 1:
        # A larger warehouse for the rules without ingesting it: copies of the loaded
        # events with their agent, task, credential and event ids made distinct.
        path = state.workdir / "scaled.duckdb"
        clock = time.perf_counter()
        warehouse.scale_warehouse(state.warehouse_path, path, copies)
        report.figures["copies of the loaded events"] = copies
        report.figures["seconds to write the copies"] = round(time.perf_counter() - clock, 1)
    counts: dict[str, int] = {}

    def identity_once() -> float:
        seconds, built = warehouse.time_identity_model(path)
        counts.update(built)
        return seconds

    identity_seconds = warehouse.median_seconds(state.options.repeat, identity_once)
    inputs = detection_inputs(state.settings)
    runs = []

    def detect_once() -> float:
        seconds, result = warehouse.time_detections(path, inputs)
        runs.append(result)
        return seconds

    scan, detect = warehouse.paired_median_seconds(
        state.options.repeat, lambda: warehouse.time_full_scan(path), detect_once
    )
    report.figures["decision_events rows"] = warehouse.table_rows(path, "decision_events")
    report.figures.update({f"{name} rows": count for name, count in counts.items()})
    report.figures["full aggregate scan seconds"] = round(scan, 3)
    report.figures["identity model seconds"] = round(identity_seconds, 3)
    report.figures["detections seconds"] = round(detect, 3)
    report.figures["rules run"] = runs[-1].rules_run
    report.figures["alerts"] = runs[-1].total
    report.measures.append(
        Measure(
            "detections",
            "run_detections vs one aggregate scan",
            round(detect / scan, 3),
            DETECTIONS_BAR,
            False,
        )
    )
    report.measures.append(
        Measure(
            "detections",
            "identity model + run_detections vs one aggregate scan",
            round((identity_seconds + detect) / scan, 3),
            DETECTIONS_BAR,
            False,
            detail="the rules read the identity tables, which are rebuilt in full each run",
        )
    )


def _incremental_stage(state: RunState, report: StageReport) -> None:
    # The next events of the same fleet, ingested into the same lake as new files.
    added_run = consumers.run_ingest_worker(
        state.settings, state.base.increment_topic, state.data_dir
    )
    repeat = state.options.repeat
    results = []

    def rebuild_once() -> float:
        seconds, result = warehouse.time_load(state.decisions_dir, state.workdir / "rebuild.duckdb")
        results.append(result)
        return seconds

    def incremental_once() -> float:
        seconds, result = warehouse.time_incremental_load(
            state.decisions_dir, state.warehouse_path, state.workdir / "incremental.duckdb"
        )
        results.append(result)
        return seconds

    rebuild, added = warehouse.paired_median_seconds(repeat, rebuild_once, incremental_once)
    identity, _ = warehouse.time_identity_model(state.workdir / "incremental.duckdb")
    report.figures["new events"] = added_run.stats["records_written"]
    report.figures["new rows inserted"] = results[-1].rows_inserted
    report.figures["new files loaded"] = results[-1].files_loaded
    report.figures["full rebuild seconds"] = round(rebuild, 3)
    report.figures["incremental load seconds"] = round(added, 3)
    report.figures["identity model rebuild after it, seconds"] = round(identity, 3)
    report.measures.append(
        Measure(
            "incremental",
            "load of 1% new data vs full rebuild",
            round(added / rebuild, 3),
            INCREMENTAL_BAR,
            False,
        )
    )


def _profile(state: RunState) -> None:
    """Write pyinstrument text profiles of the ingest worker, load, identity model and rules."""
    from pyinstrument import Profiler

    out = state.options.profile_dir
    out.mkdir(parents=True, exist_ok=True)
    small = Workload(max(1, state.base.events // 10), state.base.seed)
    prepare_topic(state.settings, small, workers=state.options.producers)
    consumers.run_ingest_worker(
        state.settings,
        small.topic,
        state.workdir / "ingest-profile",
        profile_to=out / "ingest.txt",
    )
    steps = {
        "load": lambda: warehouse.time_load(state.decisions_dir, state.workdir / "profile.duckdb"),
        "identity": lambda: warehouse.time_identity_model(state.workdir / "profile.duckdb"),
        "detections": lambda: warehouse.time_detections(
            state.workdir / "profile.duckdb", detection_inputs(state.settings)
        ),
    }
    for name, step in steps.items():
        profiler = Profiler()
        profiler.start()
        step()
        profiler.stop()
        (out / f"{name}.txt").write_text(profiler.output_text(show_all=False))
    log.info("profiles written to %s", out)
