"""Dagster resources: the agentaudit settings and the single-writer warehouse."""

from __future__ import annotations

import contextlib
from pathlib import Path

import dagster as dg

from pipelines.settings import Settings, load_settings
from pipelines.warehouse import connect_writer


class AgentauditResource(dg.ConfigurableResource):
    """Settings of one agentaudit environment; empty fields fall back to the environment."""

    data_dir: str = ""
    config_path: str = ""

    def settings(self) -> Settings:
        settings = load_settings()
        if self.data_dir or self.config_path:
            settings = Settings(
                data_dir=Path(self.data_dir).resolve() if self.data_dir else settings.data_dir,
                config_path=(
                    Path(self.config_path).resolve() if self.config_path else settings.config_path
                ),
                bootstrap_servers=settings.bootstrap_servers,
                external_kafka=settings.external_kafka,
            )
        return settings

    @contextlib.contextmanager
    def writer(self):
        """Yield a DuckDB connection under the warehouse writer lock."""
        with connect_writer(self.settings().warehouse_path) as con:
            yield con
