"""Files of a simulation run: ground truth, fleet description and optional event NDJSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pipelines.sources.simulator.fleet import FleetPlan

GROUND_TRUTH_FILE = "ground_truth.jsonl"
FLEET_FILE = "fleet.json"
EVENTS_FILE = "events.ndjson"


def write_ground_truth(plan: FleetPlan, out_dir: Path) -> tuple[Path, Path]:
    """Write `ground_truth.jsonl` and `fleet.json` for `plan` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path = out_dir / GROUND_TRUTH_FILE
    with truth_path.open("w", encoding="utf-8") as handle:
        for row in plan.ground_truth:
            handle.write(json.dumps(row, sort_keys=True) + "\n")
    fleet_path = out_dir / FLEET_FILE
    fleet_path.write_text(json.dumps(plan.metadata(), indent=2) + "\n", encoding="utf-8")
    return truth_path, fleet_path


def load_ground_truth(path: Path) -> list[dict]:
    """Read a `ground_truth.jsonl` file; a line that is not a JSON object raises ValueError."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or not {"rule_id", "entity_id"} <= row.keys():
                raise ValueError(f"{path}:{number}: expected an object with rule_id and entity_id")
            rows.append(row)
    return rows


def write_events(events: Iterable[dict], path: Path) -> int:
    """Write events as NDJSON to `path` and return how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event, separators=(",", ":")) + "\n")
            count += 1
    return count
