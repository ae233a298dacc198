"""Measure the lake load against a plain DuckDB copy of the same Parquet files.

    python -m transforms.benchmark --rows 1000000

Generates a synthetic lake of contract rows (one file a day, zstd), then times, in fresh
database files and with a CHECKPOINT included:
  - baseline: `CREATE TABLE t AS SELECT * FROM read_parquet(<files>)`,
  - full load: `load_lake` of the same files into an empty warehouse,
  - incremental load: `load_lake` of 1% more rows on top of the full load.
Each figure is the median of `--repeat` runs. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from transforms.contract import EVENT_SCHEMA
from transforms.load import ensure_schema, load_lake

EVENT_TYPES = np.array(
    ["tool_invoked", "tool_selected", "credential_used", "policy_evaluated", "task_started"]
)
SYSTEMS = np.array(["crm", "tickets", "github", "billing", "wiki"])
FIRST_DAY = datetime(2026, 1, 1, tzinfo=UTC)


def _column(values, name: str) -> pa.Array:
    return pa.array(values, EVENT_SCHEMA.field(name).type)


def synthetic_table(rows: int, day: datetime, seed: int) -> pa.Table:
    """Return `rows` contract rows dated on `day`, with the columns agents usually fill."""
    rng = np.random.default_rng(seed)
    agents = rng.integers(0, 300, rows)
    seconds = np.sort(rng.integers(0, 86_400, rows))
    times = [day + timedelta(seconds=int(s)) for s in seconds]
    columns = {name: pa.nulls(rows, EVENT_SCHEMA.field(name).type) for name in EVENT_SCHEMA.names}
    columns.update(
        event_id=_column(
            [uuid.UUID(int=int(x)).hex for x in rng.integers(0, 2**62, rows)], "event_id"
        ),
        schema_version=_column(["1"] * rows, "schema_version"),
        event_time=_column(times, "event_time"),
        event_type=_column(EVENT_TYPES[rng.integers(0, len(EVENT_TYPES), rows)], "event_type"),
        agent_id=_column([f"support_bot-{a:03d}" for a in agents], "agent_id"),
        agent_kind=_column(["support_bot"] * rows, "agent_kind"),
        task_id=_column(
            [f"task-{seed}-{t}" for t in rng.integers(0, rows // 20 + 1, rows)], "task_id"
        ),
        principal_id=_column([f"sa:support_bot-{a:03d}" for a in agents], "principal_id"),
        principal_type=_column(["service_account"] * rows, "principal_type"),
        credential_id=_column([f"key-{a}" for a in agents], "credential_id"),
        system=_column(SYSTEMS[rng.integers(0, len(SYSTEMS), rows)], "system"),
        resource=_column([f"record/{r}" for r in rng.integers(0, 1_000_000, rows)], "resource"),
        scopes=_column([["crm.read"]] * rows, "scopes"),
        action=_column(["read"] * rows, "action"),
        outcome=_column(["success"] * rows, "outcome"),
        source_topic=_column(["agent.decisions"] * rows, "source_topic"),
        source_partition=_column([seed % 6] * rows, "source_partition"),
        source_offset=_column(np.arange(rows), "source_offset"),
        ingested_at=_column(times, "ingested_at"),
    )
    return pa.table(columns, schema=EVENT_SCHEMA)


def write_synthetic_lake(decisions_dir: Path, rows: int, files: int, first_seed: int = 0) -> None:
    """Write `rows` rows over `files` daily partitions under `decisions_dir`."""
    per_file = max(rows // files, 1)
    for index in range(files):
        seed = first_seed + index
        day = FIRST_DAY + timedelta(days=seed)
        path = decisions_dir / f"event_date={day:%Y-%m-%d}" / f"bench+{seed:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(synthetic_table(per_file, day, seed), path, compression="zstd")


class Stopwatch:
    """Wall-clock and process CPU seconds (all threads) of the block it wraps."""

    def __enter__(self) -> Stopwatch:
        self._wall = time.perf_counter()
        self._cpu = self._cpu_seconds()
        return self

    def __exit__(self, *exc_info) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = self._cpu_seconds() - self._cpu

    @staticmethod
    def _cpu_seconds() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime


def _fresh_database(path: Path) -> duckdb.DuckDBPyConnection:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    return duckdb.connect(str(path))


def time_plain_copy(decisions_dir: Path, database: Path) -> Stopwatch:
    files = sorted(p.as_posix() for p in decisions_dir.rglob("*.parquet"))
    con = _fresh_database(database)
    with Stopwatch() as watch:
        con.execute("CREATE TABLE t AS SELECT * FROM read_parquet($files)", {"files": files})
        con.execute("CHECKPOINT")
    con.close()
    return watch


def time_load(decisions_dir: Path, database: Path, *, fresh: bool = True) -> Stopwatch:
    con = _fresh_database(database) if fresh else duckdb.connect(str(database))
    ensure_schema(con)
    con.execute("CHECKPOINT")
    with Stopwatch() as watch:
        load_lake(con, decisions_dir)
        con.execute("CHECKPOINT")
    con.close()
    return watch


def run_benchmark(rows: int, files: int, repeat: int, workdir: Path) -> dict:
    """Run the three measurements in `workdir` and return the figures in seconds."""
    decisions_dir = workdir / "decisions"
    write_synthetic_lake(decisions_dir, rows, files)
    plain, full = [], []
    for _ in range(repeat):
        plain.append(time_plain_copy(decisions_dir, workdir / "plain.duckdb"))
        full.append(time_load(decisions_dir, workdir / "load.duckdb"))

    incremental = []
    extra_rows = max(rows // 100, 1)
    for attempt in range(repeat):
        time_load(decisions_dir, workdir / "incremental.duckdb")
        write_synthetic_lake(decisions_dir, extra_rows, 1, first_seed=10_000 + attempt)
        incremental.append(time_load(decisions_dir, workdir / "incremental.duckdb", fresh=False))
        for added in decisions_dir.glob("event_date=*/bench+01*.parquet"):
            added.unlink()
    figures: dict = {
        "rows": rows,
        "files": files,
        "repeat": repeat,
        "duckdb": duckdb.__version__,
        "incremental_rows": extra_rows,
    }
    # Wall time moves with whatever else runs on the machine; CPU time much less so.
    for unit in ("wall", "cpu"):
        plain_s, full_s, incremental_s = (
            statistics.median(getattr(watch, unit) for watch in runs)
            for runs in (plain, full, incremental)
        )
        figures[f"plain_copy_{unit}_s"] = round(plain_s, 3)
        figures[f"load_{unit}_s"] = round(full_s, 3)
        figures[f"load_ratio_{unit}"] = round(full_s / plain_s, 3)
        figures[f"incremental_load_{unit}_s"] = round(incremental_s, 3)
        figures[f"incremental_share_of_full_{unit}"] = round(incremental_s / full_s, 3)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the lake")
    parser.add_argument("--files", type=int, default=10, help="lake files (one a day)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per figure; the median is reported"
    )
    parser.add_argument("--workdir", type=Path, help="folder for the lake and databases")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="agentaudit-bench-"))
    try:
        print(json.dumps(run_benchmark(args.rows, args.files, args.repeat, workdir), indent=2))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
