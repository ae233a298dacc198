"""Time all detection rules against one full aggregate scan of decision_events.

    .venv/bin/python -m tests.detections.benchmark_detections --rows 10000000

Builds a synthetic lake with transforms.benchmark (or opens --warehouse), loads it and
builds the identity model, then times (median of --repeat runs, fresh connection each) the
project benchmark's aggregate scan of decision_events and one `run_detections` over all
rules with config/boundaries.yaml. Prints one JSON object with the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

from detections.runner import run_detections
from pipelines.benchmarks.warehouse import FULL_SCAN_SQL
from transforms.benchmark import write_synthetic_lake
from transforms.identity import build_identity_model
from transforms.load import ensure_schema, load_lake

BOUNDARIES = Path(__file__).resolve().parents[2] / "config" / "boundaries.yaml"


def _median_seconds(action, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="synthetic events")
    parser.add_argument("--files", type=int, default=30, help="daily lake files")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each step")
    parser.add_argument("--warehouse", type=Path,
                        help="existing warehouse with the identity model; no lake is built")
    args = parser.parse_args()
    boundaries = yaml.safe_load(BOUNDARIES.read_text())
    with tempfile.TemporaryDirectory() as workdir:
        database = args.warehouse or Path(workdir) / "warehouse.duckdb"
        if args.warehouse is None:
            decisions = Path(workdir) / "decisions"
            write_synthetic_lake(decisions, args.rows, args.files)
            con = duckdb.connect(str(database))
            ensure_schema(con)
            load_lake(con, decisions)
            build_identity_model(con)
            con.close()
        result = {}

        def scan_once():
            with duckdb.connect(str(database)) as con:
                con.execute(FULL_SCAN_SQL).fetchall()

        def detect_once():
            with duckdb.connect(str(database)) as con:
                result["run"] = run_detections(
                    con, thresholds={}, suppressions=[], boundaries=boundaries,
                    now=datetime(2030, 1, 1, tzinfo=UTC),
                )
                con.execute("CHECKPOINT")
                result["events"] = con.execute(
                    "SELECT count(*) FROM decision_events"
                ).fetchone()[0]

        scan = _median_seconds(scan_once, args.repeat)
        detections = _median_seconds(detect_once, args.repeat)
        events = result["events"]
    print(json.dumps({
        "events": events,
        "aggregate_scan_seconds": round(scan, 3),
        "detections_seconds": round(detections, 3),
        "ratio": round(detections / scan, 2),
        "alerts": result["run"].total,
        "alerts_per_rule": result["run"].alerts_per_rule,
    }))


if __name__ == "__main__":
    main()
