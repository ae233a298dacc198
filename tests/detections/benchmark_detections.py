"""Time all detection rules against one full aggregate scan of decision_events.

    .venv/bin/python -m tests.detections.benchmark_detections --rows 10000000

Builds a synthetic lake with transforms.benchmark, loads it and builds the identity model,
then times (median of --repeat runs) the aggregate scan
`SELECT event_type, agent_id, count(*), min(event_time), max(event_time) ... GROUP BY ALL`
and one `run_detections` over all rules. Prints one JSON object with the ratio.
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
from transforms.benchmark import write_synthetic_lake
from transforms.identity import build_identity_model
from transforms.load import ensure_schema, load_lake

AGGREGATE_SCAN = (
    "SELECT event_type, agent_id, count(*), min(event_time), max(event_time) "
    "FROM decision_events GROUP BY ALL"
)
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
    args = parser.parse_args()
    boundaries = yaml.safe_load(BOUNDARIES.read_text())
    with tempfile.TemporaryDirectory() as workdir:
        decisions = Path(workdir) / "decisions"
        write_synthetic_lake(decisions, args.rows, args.files)
        con = duckdb.connect(str(Path(workdir) / "warehouse.duckdb"))
        ensure_schema(con)
        load_lake(con, decisions)
        build_identity_model(con)
        events = con.execute("SELECT count(*) FROM decision_events").fetchone()[0]
        scan = _median_seconds(lambda: con.execute(AGGREGATE_SCAN).fetchall(), args.repeat)
        result = {}

        def detect():
            result["run"] = run_detections(
                con, thresholds={}, suppressions=[], boundaries=boundaries,
                now=datetime(2030, 1, 1, tzinfo=UTC),
            )

        detections = _median_seconds(detect, args.repeat)
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
