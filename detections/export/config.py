"""Sink configuration: the `sinks:` section of the configuration file, validated up front.

Each entry maps a sink name to its settings. Secrets never appear here: a sink names the
environment variable that contains its token or signing secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detections.export.errors import ExportConfigError

FILE_SINK_TYPES = ("ocsf_file", "ecs_bulk_file")
COMMON_KEYS = frozenset({"type", "enabled", "timeout_seconds", "batch_size", "retry"})
TLS_KEYS = frozenset({"verify_tls", "ca_file"})

# Per sink type: (required keys, optional keys).
SINK_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "ocsf_file": (frozenset({"path"}), frozenset()),
    "ecs_bulk_file": (frozenset({"path"}), frozenset({"index"})),
    "splunk_hec": (
        frozenset({"url", "token_env"}),
        frozenset({"index", "source", "sourcetype", "host", "ack", "ack_timeout_seconds",
                   "ack_poll_seconds", "channel"}) | TLS_KEYS,
    ),
    "syslog": (
        frozenset({"host", "port"}),
        frozenset({"protocol", "format", "facility", "hostname", "app_name", "sd_id",
                   "leef_delimiter"}),
    ),
    "webhook": (
        frozenset({"url"}),
        frozenset({"hmac_secret_env", "signature_header", "headers"}) | TLS_KEYS,
    ),
}  # fmt: skip
SINK_TYPES = tuple(SINK_KEYS)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries within one run, with exponential backoff and full jitter."""

    max_attempts: int = 5
    initial_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0


@dataclass(frozen=True)
class SinkConfig:
    """One configured sink: its name, type, retry policy and type-specific options."""

    name: str
    type: str
    enabled: bool
    options: Mapping[str, Any]
    retry: RetryPolicy
    timeout_seconds: float
    batch_size: int

    def require(self, key: str) -> Any:
        """Return a required option or raise an error naming the sink and the key."""
        value = self.options.get(key)
        if value is None or value == "":
            raise ExportConfigError(f"sink {self.name!r}: missing required key {key!r}")
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


def parse_sinks(section: Mapping[str, Any]) -> list[SinkConfig]:
    """Validate the `sinks:` section and return one SinkConfig per entry, in file order."""
    if not isinstance(section, Mapping):
        raise ExportConfigError("the 'sinks' section must be a mapping of sink name to settings")
    return [_parse_sink(name, entry) for name, entry in section.items()]


def resolve_paths(section: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
    """Return a copy of the `sinks:` section with relative file `path`s made absolute."""
    resolved: dict[str, Any] = {}
    for name, entry in section.items():
        entry = dict(entry or {})
        path = entry.get("path")
        if entry.get("type") in FILE_SINK_TYPES and path and not Path(path).is_absolute():
            entry["path"] = str(base_dir / path)
        resolved[name] = entry
    return resolved


def _parse_sink(name: str, entry: Any) -> SinkConfig:
    if not isinstance(entry, Mapping):
        raise ExportConfigError(f"sink {name!r}: settings must be a mapping")
    sink_type = entry.get("type")
    if sink_type not in SINK_TYPES:
        raise ExportConfigError(
            f"sink {name!r}: invalid type {sink_type!r}; expected one of {', '.join(SINK_TYPES)}"
        )

    required, optional = SINK_KEYS[sink_type]
    unknown = sorted(set(entry) - required - optional - COMMON_KEYS)
    if unknown:
        raise ExportConfigError(
            f"sink {name!r}: unknown key(s) {', '.join(unknown)} for type {sink_type}; "
            f"allowed: {', '.join(sorted(required | optional | COMMON_KEYS))}"
        )
    missing = sorted(key for key in required if entry.get(key) in (None, ""))
    if missing:
        raise ExportConfigError(f"sink {name!r}: missing required key(s) {', '.join(missing)}")

    _check_type_options(name, sink_type, entry)

    enabled = entry.get("enabled", sink_type in FILE_SINK_TYPES)
    if not isinstance(enabled, bool):
        raise ExportConfigError(f"sink {name!r}: enabled must be true or false, got {enabled!r}")

    retry_entry = entry.get("retry") or {}
    if not isinstance(retry_entry, Mapping):
        raise ExportConfigError(f"sink {name!r}: 'retry' must be a mapping")
    retry = RetryPolicy(
        max_attempts=_positive_int(name, "retry.max_attempts", retry_entry.get("max_attempts", 5)),
        initial_backoff_seconds=_non_negative(
            name, "retry.initial_backoff_seconds", retry_entry.get("initial_backoff_seconds", 1.0)
        ),
        max_backoff_seconds=_non_negative(
            name, "retry.max_backoff_seconds", retry_entry.get("max_backoff_seconds", 30.0)
        ),
    )

    default_batch = {"splunk_hec": 100, "ocsf_file": 500, "ecs_bulk_file": 500}.get(sink_type, 1)
    return SinkConfig(
        name=name,
        type=sink_type,
        enabled=enabled,
        options=dict(entry),
        retry=retry,
        timeout_seconds=_positive(name, "timeout_seconds", entry.get("timeout_seconds", 10.0)),
        batch_size=_positive_int(name, "batch_size", entry.get("batch_size", default_batch)),
    )


def _check_type_options(name: str, sink_type: str, entry: Mapping[str, Any]) -> None:
    if sink_type in ("splunk_hec", "webhook"):
        url = str(entry["url"])
        if not url.startswith(("http://", "https://")):
            raise ExportConfigError(f"sink {name!r}: url must start with http:// or https://")
    if sink_type != "syslog":
        return
    port = entry["port"]
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ExportConfigError(f"sink {name!r}: port must be an integer 1-65535, got {port!r}")
    allowed = {"protocol": ("tcp", "udp"), "format": ("cef", "leef")}
    for key, values in allowed.items():
        if key in entry and entry[key] not in values:
            raise ExportConfigError(
                f"sink {name!r}: invalid {key} {entry[key]!r}; expected {' or '.join(values)}"
            )


def _positive_int(name: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ExportConfigError(f"sink {name!r}: {key} must be an integer >= 1, got {value!r}")
    return value


def _positive(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ExportConfigError(f"sink {name!r}: {key} must be a number > 0, got {value!r}")
    return float(value)


def _non_negative(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ExportConfigError(f"sink {name!r}: {key} must be a number >= 0, got {value!r}")
    return float(value)
