"""Detection inputs from the configuration: thresholds, suppressions and tool boundaries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipelines.settings import ConfigError, Settings, load_yaml_file


def detection_inputs(settings: Settings) -> dict[str, Any]:
    """Return the keyword arguments of `detections.runner.run_detections` for `settings`."""
    suppressions = settings.config.get("suppressions") or []
    if not isinstance(suppressions, list):
        raise ConfigError(f"suppressions in {settings.config_path} must be a list")
    boundaries_file = settings.section("detections_files").get("boundaries", "boundaries.yaml")
    boundaries_path = settings.config_path.parent / boundaries_file
    boundaries = load_yaml_file(boundaries_path) if boundaries_path.exists() else {}
    return {
        "thresholds": settings.section("detections"),
        "suppressions": suppressions,
        "boundaries": boundaries,
    }


def resolve_as_of(value: str) -> datetime | str | None:
    """Map the `detections_as_of` setting to the runner's `as_of`: None means latest event.

    "now" evaluates at the wall clock, which suits a one-off import of old logs: a task
    credential's linger window after the last task has then passed.
    """
    if not value:
        return None
    if value == "now":
        return datetime.now(UTC)
    return value
