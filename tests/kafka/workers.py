"""Run ingest workers as subprocesses, so tests can kill them at any instant."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from pipelines.settings import REPO_ROOT


def write_config(path: Path, topic: str, group: str, **ingest: Any) -> Path:
    """Write a configuration file for one test's topic, group and ingest settings."""
    config = {"kafka": {"topic": topic, "consumer_group": group}, "ingest": ingest}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def start_worker(
    data_dir: Path,
    config_path: Path,
    log_path: Path,
    *,
    follow: bool = True,
    instance_id: str | None = None,
    bootstrap: str | None = None,
) -> subprocess.Popen:
    """Start `python -m pipelines.kafka.ingest` with its own data dir and config; logs to a file."""
    env = dict(os.environ, AGENTAUDIT_DATA_DIR=str(data_dir), AGENTAUDIT_CONFIG=str(config_path))
    if bootstrap:
        env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    command = [sys.executable, "-m", "pipelines.kafka.ingest"]
    if follow:
        command.append("--follow")
    if instance_id:
        command += ["--instance-id", instance_id]
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
