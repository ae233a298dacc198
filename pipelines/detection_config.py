"""Detection inputs from the configuration: thresholds, suppressions and tool boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


def resolve_as_of(value: str, latest_event_time: datetime | None) -> datetime | str | None:
    """Map the `detections_as_of` setting to the runner's `as_of`; None means latest event.

    Accepted values: empty (the latest event_time), "now" (the wall clock), "latest+<N>h"
    (N hours after the latest event_time), or an ISO-8601 timestamp. An offset suits a
    one-off import of old logs: the linger window after its last task has then passed,
    while the lookback windows still cover the log.
    """
    if not value:
        return None
    if value == "now":
        return datetime.now(UTC)
    if value.startswith("latest+") and value.endswith("h"):
        try:
            hours = float(value[len("latest+") : -1])
        except ValueError:
            raise ConfigError(f"invalid detections_as_of {value!r}: expected latest+<N>h") from None
        return None if latest_event_time is None else latest_event_time + timedelta(hours=hours)
    return value
