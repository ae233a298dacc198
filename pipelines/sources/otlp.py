"""Decoding of OTLP JSON traces: spans with their resource and scope, attributes as plain values.

OTLP JSON (the protobuf JSON mapping used by OTLP/HTTP and the collector's file exporter)
writes trace and span ids as hex text, 64-bit integers as decimal strings, and attributes
as lists of {"key", "value": {"stringValue" | "intValue" | ...}}.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipelines.sources.common import as_object

# OTLP status code ERROR: the JSON mapping may write the enum as a number or by name.
STATUS_ERROR = {2, "2", "STATUS_CODE_ERROR"}


class InvalidSpan(ValueError):
    """A span without what any mapping needs (ids, start time); the message names the part."""


@dataclass
class Span:
    """One decoded span with the attributes of its resource and instrumentation scope."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: Any
    start: datetime
    end: datetime | None
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: dict[str, Any]
    status_code: Any = None
    status_message: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_error(self) -> bool:
        return isinstance(self.status_code, int | str) and self.status_code in STATUS_ERROR

    def get(self, key: str) -> Any:
        """Return a span attribute, else the resource attribute of that name."""
        value = self.attributes.get(key)
        return self.resource.get(key) if value is None else value


def any_value(value: Any) -> Any:
    """Decode an OTLP AnyValue object to a plain Python value."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "doubleValue" in value:
        return value["doubleValue"]
    if "arrayValue" in value:
        items = as_object(value["arrayValue"]).get("values")
        return [any_value(item) for item in items] if isinstance(items, list) else []
    if "kvlistValue" in value:
        return key_values(as_object(value["kvlistValue"]).get("values"))
    if "bytesValue" in value:
        try:
            return base64.b64decode(value["bytesValue"]).hex()
        except (ValueError, TypeError):
            return value["bytesValue"]
    return None


def key_values(items: Any) -> dict[str, Any]:
    """Decode a list of OTLP KeyValue objects to a dict; entries without a key are skipped."""
    result: dict[str, Any] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            result[item["key"]] = any_value(item.get("value"))
    return result


def nanos_to_datetime(value: Any) -> datetime | None:
    """Convert Unix epoch nanoseconds (number or decimal string) to a UTC datetime."""
    try:
        nanos = int(value)
    except (TypeError, ValueError):
        return None
    if nanos <= 0:
        return None
    return datetime.fromtimestamp(nanos // 1000 / 1_000_000, tz=UTC)


def _hex_id(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()


def decode_span(raw: Any, resource: dict[str, Any], scope: dict[str, Any]) -> Span:
    """Decode one OTLP JSON span, or raise InvalidSpan naming the missing part."""
    if not isinstance(raw, dict):
        raise InvalidSpan(f"span is a JSON {type(raw).__name__}, expected an object")
    trace_id, span_id = _hex_id(raw.get("traceId")), _hex_id(raw.get("spanId"))
    if trace_id is None or span_id is None:
        raise InvalidSpan("span has no traceId or spanId")
    start = nanos_to_datetime(raw.get("startTimeUnixNano"))
    if start is None:
        raise InvalidSpan(f"span {span_id} has no valid startTimeUnixNano")
    status = as_object(raw.get("status"))
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=_hex_id(raw.get("parentSpanId")),
        name=str(raw.get("name") or ""),
        kind=raw.get("kind"),
        start=start,
        end=nanos_to_datetime(raw.get("endTimeUnixNano")),
        attributes=key_values(raw.get("attributes")),
        resource=resource,
        scope=scope,
        status_code=status.get("code"),
        status_message=status.get("message"),
        events=[
            {"name": item.get("name"), "attributes": key_values(item.get("attributes"))}
            for item in (raw.get("events") if isinstance(raw.get("events"), list) else [])
            if isinstance(item, dict)
        ],
    )


def iter_raw_spans(document: Any) -> Iterator[tuple[Any, dict[str, Any], dict[str, Any]]]:
    """Yield (raw span, resource attributes, scope) from an ExportTraceServiceRequest object."""
    if not isinstance(document, dict):
        return
    for resource_spans in _list(document.get("resourceSpans")):
        if not isinstance(resource_spans, dict):
            continue
        resource = key_values(as_object(resource_spans.get("resource")).get("attributes"))
        # scopeSpans since OTLP 0.19; instrumentationLibrarySpans in older exporters.
        scopes = resource_spans.get("scopeSpans") or resource_spans.get(
            "instrumentationLibrarySpans"
        )
        for scope_spans in _list(scopes):
            if not isinstance(scope_spans, dict):
                continue
            scope_raw = as_object(
                scope_spans.get("scope") or scope_spans.get("instrumentationLibrary")
            )
            scope = {"name": scope_raw.get("name"), "version": scope_raw.get("version")}
            for span in _list(scope_spans.get("spans")):
                yield span, resource, scope


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
