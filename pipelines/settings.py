"""The one place that decides where agentaudit keeps its data and which configuration it reads.

Paths derive from the data directory (`AGENTAUDIT_DATA_DIR`, default `data/` in the
repository) and the configuration file (`AGENTAUDIT_CONFIG`, default
`config/agentaudit.yaml`). Secrets never live in the file: each sink names the environment
variable that contains its secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "agentaudit.yaml"
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
# Top-level sections of the configuration file; any other key is a typo.
CONFIG_SECTIONS = ("kafka", "ingest", "detections", "detections_files", "suppressions", "sinks")


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or has an invalid value."""


@dataclass(frozen=True)
class Settings:
    """Paths and configuration for one agentaudit environment."""

    data_dir: Path
    config_path: Path
    bootstrap_servers: str
    external_kafka: bool
    overrides: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def config(self) -> dict[str, Any]:
        try:
            text = self.config_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read configuration {self.config_path}: {exc}") from exc
        try:
            loaded = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML in {self.config_path}{_yaml_position(exc)}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{self.config_path} must contain a mapping at the top level")
        unknown = sorted(str(key) for key in loaded if key not in CONFIG_SECTIONS)
        if unknown:
            raise ConfigError(
                f"unknown section {', '.join(unknown)} in {self.config_path}; "
                f"known sections: {', '.join(CONFIG_SECTIONS)}"
            )
        return _deep_merge(loaded, self.overrides)

    def section(self, name: str) -> dict[str, Any]:
        """Return one top-level section of the configuration, empty when absent."""
        value = self.config.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"section {name!r} in {self.config_path} must be a mapping")
        return value

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def decisions_dir(self) -> Path:
        return self.lake_dir / "decisions"

    @property
    def quarantine_dir(self) -> Path:
        return self.lake_dir / "quarantine"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def alerts_dir(self) -> Path:
        return self.data_dir / "alerts"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def topic(self) -> str:
        return self.section("kafka").get("topic", "agent.decisions")

    @property
    def consumer_group(self) -> str:
        return self.section("kafka").get("consumer_group", "agentaudit-ingest")


def _yaml_position(error: yaml.YAMLError) -> str:
    """Return ' at line L column C: problem' for a YAML error, or ': message' without a mark."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f": {problem}"
    return f" at line {mark.line + 1} column {mark.column + 1}: {problem}"


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment; keyword overrides win over the config file."""
    data_dir = Path(os.environ.get("AGENTAUDIT_DATA_DIR", REPO_ROOT / "data")).resolve()
    config_path = Path(os.environ.get("AGENTAUDIT_CONFIG", DEFAULT_CONFIG)).resolve()
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    return Settings(
        data_dir=data_dir,
        config_path=config_path,
        bootstrap_servers=external or DEFAULT_BOOTSTRAP,
        external_kafka=bool(external),
        overrides=overrides,
    )


def load_yaml_file(path: Path) -> dict[str, Any]:
    """Read a YAML mapping from `path`, raising ConfigError that names the file."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in {path}{_yaml_position(exc)}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} must contain a mapping at the top level")
    return loaded
