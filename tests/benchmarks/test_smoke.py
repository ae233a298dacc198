"""Smoke test of `python -m pipelines.benchmarks`: a small run reports every stage.

It checks that the command runs against the real broker and DuckDB and that each stage
prints figures and a ratio. It checks no timing, because ratios at this size mean nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from pipelines.benchmarks.run import STAGES
from pipelines.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def run_command(*args: str, workdir) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "pipelines.benchmarks",
        "--events",
        "2000",
        "--workdir",
        str(workdir),
        *args,
    ]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def test_json_run_reports_every_stage(kafka_bootstrap, tmp_path):
    result = run_command("--json", workdir=tmp_path / "bench")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert [stage["name"] for stage in report["stages"]] == list(STAGES)
    assert {measure["stage"] for measure in report["measures"]} == set(STAGES)
    for measure in report["measures"]:
        assert measure["ratio"] is not None and measure["ratio"] > 0, measure
        assert measure["met"] in (True, False), measure
    ingest = report["stages"][0]["figures"]
    assert ingest["ingest records written"] == 2000
    assert report["machine"]["cores"] >= 1
    assert not (tmp_path / "bench").exists()


def test_text_run_prints_table_and_skips(kafka_bootstrap, tmp_path):
    result = run_command(
        "--skip",
        "memory",
        "--skip",
        "incremental",
        "--detection-copies",
        "2",
        workdir=tmp_path / "bench",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "measure" in result.stdout
    assert "== ingest" in result.stdout
    assert "== load" in result.stdout
    assert "== detections" in result.stdout
    assert "== memory" not in result.stdout
    assert "== incremental" not in result.stdout
    assert "load_lake vs plain CTAS read_parquet" in result.stdout
    assert re.search(r"decision_events rows\s+4,000\n", result.stdout), result.stdout


def test_unknown_stage_is_rejected(tmp_path):
    result = run_command("--skip", "compaction", workdir=tmp_path / "bench")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
