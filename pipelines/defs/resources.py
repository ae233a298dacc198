"""Dagster resources: the agentaudit settings and the single-writer warehouse."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.settings import Settings, load_settings
from pipelines.warehouse import connect_writer


class AgentauditResource(dg.ConfigurableResource):
    """Settings of one agentaudit environment; empty fields fall back to the environment.

    `data_dir` and `config_path` replace AGENTAUDIT_DATA_DIR and AGENTAUDIT_CONFIG;
    `topic` and `consumer_group` replace the kafka section of the configuration file.
    `detections_as_of` is the time detections evaluate at: empty for the latest event_time
    (the default, deterministic), "latest+<N>h", "now" for the wall clock, or an ISO-8601
    timestamp.
    """

    data_dir: str = ""
    config_path: str = ""
    topic: str = ""
    consumer_group: str = ""
    detections_as_of: str = ""

    def settings(self) -> Settings:
        kafka: dict[str, Any] = {}
        if self.topic:
            kafka["topic"] = self.topic
        if self.consumer_group:
            kafka["consumer_group"] = self.consumer_group
        settings = load_settings(**({"kafka": kafka} if kafka else {}))
        replaced: dict[str, Path] = {}
        if self.data_dir:
            replaced["data_dir"] = Path(self.data_dir).resolve()
        if self.config_path:
            replaced["config_path"] = Path(self.config_path).resolve()
        return dataclasses.replace(settings, **replaced) if replaced else settings

    @contextlib.contextmanager
    def writer(self):
        """Yield a DuckDB connection under the warehouse writer lock."""
        with connect_writer(self.settings().warehouse_path) as con:
            yield con
