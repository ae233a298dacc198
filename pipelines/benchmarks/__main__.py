"""Command line of the benchmarks: `python -m pipelines.benchmarks --help`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pipelines.benchmarks.report import Measure, StageReport, format_figures, format_table
from pipelines.benchmarks.run import STAGES, Options, run_benchmarks


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.benchmarks",
        description="Measure ingest, memory, load, detections and incremental load against "
        "baselines run on the same topic and machine.",
    )
    parser.add_argument(
        "--events",
        type=int,
        default=1_000_000,
        help="events in the benchmark topic (default 1,000,000)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object, no text")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=STAGES,
        help="stage to leave out; repeat for several",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per warehouse timing; the median is reported (default 1)",
    )
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    parser.add_argument(
        "--producers",
        type=int,
        default=2,
        help="processes that generate and produce the topic (default 2)",
    )
    parser.add_argument(
        "--fresh-topics",
        action="store_true",
        help="produce the benchmark topics again even when they exist",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="folder for lakes and databases (default: a new one under "
        "<data dir>/benchmarks, deleted at the end)",
    )
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the lakes and databases after the run"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write pyinstrument profiles of ingest, load, identity model and detections",
    )
    parser.add_argument(
        "--detection-copies",
        type=int,
        default=1,
        metavar="K",
        help="run the detections stage on K copies of the loaded events, each copy with its "
        "own agent, task, credential and event ids (default 1: the loaded events only)",
    )
    args = parser.parse_args(argv)
    return Options(
        events=args.events,
        seed=args.seed,
        skip=frozenset(args.skip),
        repeat=args.repeat,
        producers=args.producers,
        fresh_topics=args.fresh_topics,
        workdir=args.workdir,
        keep_workdir=args.keep_workdir,
        detection_copies=args.detection_copies,
        profile_dir=args.profile,
    ), args.json


def main(argv: list[str] | None = None) -> int:
    options, as_json = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
    logging.getLogger("transforms").setLevel(logging.WARNING)
    logging.getLogger("detections").setLevel(logging.WARNING)
    result = run_benchmarks(options)
    if as_json:
        print(json.dumps(result, indent=2))
        return 0
    machine = result["machine"]
    print(f"agentaudit benchmarks: {result['events']:,} events on topic {result['topic']}")
    print(
        f"machine: {machine['cores']} cores, {machine['memory_total_gib']} GiB memory, "
        f"load average {machine['load_average']} at start, "
        f"{result['load_average_at_end']} at end; {result['seconds']} s in all"
    )
    for stage in result["stages"]:
        report = StageReport(
            stage["name"],
            stage["figures"],
            [_measure(m) for m in stage["measures"]],
            tuple(stage["load_average"]),
            stage["seconds"],
        )
        print(format_figures(report))
    print()
    print(format_table([_measure(m) for m in result["measures"]]))
    return 0


def _measure(data: dict) -> Measure:
    return Measure(
        data["stage"],
        data["name"],
        data["ratio"],
        data["bar"],
        data["higher_is_better"],
        data["detail"],
    )


if __name__ == "__main__":
    sys.exit(main())
