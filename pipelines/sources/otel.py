"""OpenTelemetry GenAI spans (OTLP JSON) as decision events.

The span names and attributes follow the OpenTelemetry semantic conventions for
generative AI (status Development; gen_ai.provider.name replaced gen_ai.system in
v1.37, and both are read). One trace is one task:

* the outermost `invoke_agent` span gives task_started at its start and task_completed,
  or task_failed when its status is ERROR, at its end;
* an `execute_tool` span gives tool_selected at its start and tool_invoked at its end;
* model calls (chat, text_completion, generate_content, embeddings) and nested
  `invoke_agent` spans give one tool_invoked each;
* other spans (HTTP, database) are counted and skipped.

OpenTelemetry defines no attributes for credentials, scopes or data classification, so
spans may carry the `agentaudit.*` attributes listed in docs/sources.md.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.sources.common import Rejected, bounded, isoformat, raw_bytes, record_rejection
from pipelines.sources.otlp import InvalidSpan, Span, decode_span, iter_raw_spans
from pipelines.sources.readers import iter_json_values
from pipelines.sources.tasks import TaskSpec, add_task_events

log = logging.getLogger(__name__)

SOURCE = "otel"
MODEL_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
KNOWN_OPERATIONS = MODEL_OPERATIONS | {"invoke_agent", "execute_tool", "create_agent"}
PRINCIPAL_TYPES = frozenset({"delegated_user", "service_account", "workload", "agent"})
ACTIONS = frozenset({"read", "write", "delete", "export", "admin", "execute"})
CLASSIFICATIONS = frozenset({"public", "internal", "confidential", "restricted"})
# error.type values that mean the caller was denied, not that the call failed.
_DENIED_ERROR = re.compile(r"denied|forbidden|unauthori[sz]ed|^40[13]$", re.IGNORECASE)
# The human behind a request. Both are in the current attribute registry; enduser.id was
# marked deprecated in v1.27 and restored later, so instrumentations emit either.
USER_ATTRIBUTES = ("enduser.id", "user.id")
# HTTP authorization schemes -> auth_method; the credential after the scheme is never read.
AUTH_SCHEMES = {"bearer": "bearer_token", "basic": "basic_auth", "aws4-hmac-sha256": "aws_sigv4"}

RejectHandler = Callable[[Rejected], None]


@dataclass
class OtelStats:
    """Counts of one mapping run, for the importer's summary."""

    records_read: int = 0
    spans_read: int = 0
    spans_mapped: int = 0
    spans_skipped: int = 0
    rejected: int = 0
    events: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def operation_of(span: Span) -> str | None:
    """Return gen_ai.operation.name, else the operation that the span name starts with."""
    operation = span.attributes.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation:
        return operation
    first_word = span.name.split(" ", 1)[0]
    return first_word if first_word in KNOWN_OPERATIONS else None


def _agent_of(span: Span) -> str | None:
    for key in ("gen_ai.agent.id", "gen_ai.agent.name"):
        value = span.attributes.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _text(span: Span, key: str) -> str | None:
    value = span.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _scopes(span: Span) -> list[str] | None:
    value = span.get("agentaudit.scopes")
    if value is None:
        value = span.get("enduser.scope")  # deprecated in the conventions, still emitted
    if isinstance(value, str):
        return value.split() or None
    if isinstance(value, list):
        return [str(item) for item in value if str(item).strip()] or None
    return None


# agentaudit.* span attributes copied as they are into contract fields of the same meaning.
_TEXT_FIELDS = (
    ("credential_id", "agentaudit.credential.id"),
    ("credential_issued_at", "agentaudit.credential.issued_at"),
    ("credential_expires_at", "agentaudit.credential.expires_at"),
    ("auth_method", "agentaudit.auth.method"),
    ("resource", "agentaudit.resource"),
    ("approval_id", "agentaudit.approval.id"),
    ("policy_id", "agentaudit.policy.id"),
)


def _auth_scheme(header: Any) -> str | None:
    """Return the lower-case scheme of an Authorization header value (a string or a list)."""
    if isinstance(header, list):
        header = header[0] if header else None
    if not isinstance(header, str) or not header.split():
        return None
    return header.split()[0].lower()


def _identity(span: Span) -> dict[str, Any]:
    """Map the identity attributes of a span (and its resource) to principal fields."""
    fields: dict[str, Any] = {}
    user = next((_text(span, key) for key in USER_ATTRIBUTES if _text(span, key)), None)
    principal = _text(span, "agentaudit.principal.id")
    principal_type = _text(span, "agentaudit.principal.type")
    if principal_type not in PRINCIPAL_TYPES:
        principal_type = None

    if user and principal_type in (None, "delegated_user"):
        fields.update(
            principal_id=principal or user, principal_type="delegated_user", on_behalf_of=user
        )
    elif principal:
        fields.update(principal_id=principal, principal_type=principal_type)

    for target, key in _TEXT_FIELDS:
        value = _text(span, key)
        if value:
            fields[target] = value
    if "auth_method" not in fields:
        scheme = _auth_scheme(span.get("http.request.header.authorization"))
        if scheme:
            fields["auth_method"] = AUTH_SCHEMES.get(scheme, scheme)

    action = _text(span, "agentaudit.action")
    if action in ACTIONS:
        fields["action"] = action
    classification = _text(span, "agentaudit.data.classification")
    if classification in CLASSIFICATIONS:
        fields["data_classification"] = classification
    scopes = _scopes(span)
    if scopes:
        fields["scopes"] = scopes
    return fields


def _outcome(span: Span) -> str:
    error_type = span.attributes.get("error.type")
    if error_type is not None and _DENIED_ERROR.search(str(error_type)):
        return "denied"
    if span.is_error or error_type is not None:
        return "failure"
    return "success"


def _attributes(span: Span, operation: str | None) -> dict[str, Any]:
    bounded_attributes = {}
    for key, value in span.attributes.items():
        bounded_attributes[key], _ = bounded(value)
    return {
        "otel.trace_id": span.trace_id,
        "otel.span_id": span.span_id,
        "otel.parent_span_id": span.parent_span_id,
        "otel.span_name": span.name,
        "otel.span_kind": span.kind,
        "otel.operation": operation,
        "otel.status_message": span.status_message,
        "otel.scope": span.scope,
        "otel.attributes": bounded_attributes,
        "otel.resource": span.resource,
        "otel.end_time": isoformat(span.end) if span.end else None,
    }


class _TraceMapper:
    """Map the spans of one trace to events and one task."""

    def __init__(self, trace_id: str, spans: list[Span]):
        self.trace_id = trace_id
        self.spans = sorted(spans, key=lambda span: (span.start, span.span_id))
        self.by_id = {span.span_id: span for span in self.spans}
        self.operations = {span.span_id: operation_of(span) for span in self.spans}
        self.root = self.root_agent_span()

    def agent_span(self, span: Span) -> Span | None:
        """Return the nearest invoke_agent span at or above `span`."""
        current: Span | None = span
        seen: set[str] = set()
        while current is not None and current.span_id not in seen:
            seen.add(current.span_id)
            if self.operations[current.span_id] == "invoke_agent":
                return current
            current = self.by_id.get(current.parent_span_id or "")
        return None

    def owner(self, span: Span) -> Span | None:
        """Return the invoke_agent span of the agent that acted in `span`.

        A nested invoke_agent span is a step of the agent that called it, so its owner is
        the agent above it. Every other span belongs to the nearest agent at or above it.
        """
        if self.operations[span.span_id] == "invoke_agent" and span is not self.root:
            parent = self.by_id.get(span.parent_span_id or "")
            return self.agent_span(parent) if parent else None
        return self.agent_span(span)

    def agent_id(self, span: Span) -> str | None:
        for candidate in (self.owner(span), span):
            if candidate is not None and _agent_of(candidate):
                return _agent_of(candidate)
        return _text(span, "service.name")

    def agent_kind(self, span: Span) -> str | None:
        for candidate in (self.owner(span), span):
            if candidate is None:
                continue
            kind = _text(candidate, "agentaudit.agent.kind") or _text(
                candidate, "gen_ai.agent.name"
            )
            if kind:
                return kind
        return None

    def event(self, span: Span, suffix: str, event_type: str, moment, **fields) -> dict[str, Any]:
        operation = self.operations[span.span_id]
        event = {
            "event_id": f"{span.trace_id}:{span.span_id}:{suffix}",
            "schema_version": "1",
            "event_time": isoformat(moment),
            "event_type": event_type,
            "agent_id": self.agent_id(span),
            "agent_kind": self.agent_kind(span),
            "run_id": _text(span, "gen_ai.conversation.id"),
            "task_id": self.trace_id,
            "source": SOURCE,
            "tenant": _text(span, "tenant.id"),
            "environment": _text(span, "deployment.environment.name")
            or _text(span, "deployment.environment"),
            "attributes": _attributes(span, operation),
        }
        event.update(_identity(span))
        event.update(fields)
        return event

    def root_agent_span(self) -> Span | None:
        """Return the earliest invoke_agent span with no agent above it: the task's span."""
        for span in self.spans:
            if self.operations[span.span_id] != "invoke_agent":
                continue
            parent = self.by_id.get(span.parent_span_id or "")
            if parent is None or self.agent_span(parent) is None:
                return span
        return None

    def map(self) -> tuple[list[dict[str, Any]], TaskSpec | None, int, list[Span]]:
        """Return the trace's events, its derived task spec, the skipped and the agentless spans.

        The task spec is None when an invoke_agent span gives the task's real boundaries.
        """
        events: list[dict[str, Any]] = []
        skipped = 0
        agentless: list[Span] = []
        root = self.root
        for span in self.spans:
            operation = self.operations[span.span_id]
            if operation is not None and self.agent_id(span) is None:
                agentless.append(span)
                continue
            end = span.end or span.start
            if span is root:
                events.append(
                    self.event(
                        span,
                        "task_started",
                        "task_started",
                        span.start,
                        initiated_by=self._initiator(span),
                    )
                )
                if span.end is not None:
                    closing = "task_failed" if span.is_error else "task_completed"
                    events.append(
                        self.event(span, closing, closing, span.end, outcome=_outcome(span))
                    )
            elif operation == "execute_tool":
                tool = (
                    _text(span, "gen_ai.tool.name")
                    or span.name.removeprefix("execute_tool ").strip()
                )
                system = _text(span, "agentaudit.system") or _text(span, "server.address")
                common = {"tool": tool or None, "system": system}
                selected = self.event(span, "tool_selected", "tool_selected", span.start, **common)
                # The span's attributes go with tool_invoked only, so they are stored once.
                selected["attributes"] = {
                    "otel.trace_id": span.trace_id,
                    "otel.span_id": span.span_id,
                }
                events.append(selected)
                events.append(
                    self.event(
                        span, "tool_invoked", "tool_invoked", end, outcome=_outcome(span), **common
                    )
                )
            elif operation in MODEL_OPERATIONS or operation == "invoke_agent":
                provider = _text(span, "gen_ai.provider.name") or _text(span, "gen_ai.system")
                if operation == "invoke_agent":
                    tool = f"invoke_agent:{_agent_of(span) or 'unknown'}"
                else:
                    tool = f"gen_ai.{operation}"
                model = _text(span, "gen_ai.request.model") or _text(span, "gen_ai.response.model")
                events.append(
                    self.event(
                        span,
                        "tool_invoked",
                        "tool_invoked",
                        end,
                        outcome=_outcome(span),
                        tool=tool,
                        system=provider,
                        action="execute",
                    )
                )
                if model and not events[-1].get("resource"):
                    events[-1]["resource"] = model
            else:
                skipped += 1
        if root is not None or not events:
            return events, None, skipped, agentless
        spec = TaskSpec(
            task_id=self.trace_id,
            agent_id=events[0]["agent_id"],
            agent_kind=events[0].get("agent_kind"),
            initiated_by=self._initiator(self.spans[0]),
            source=SOURCE,
            basis="otel_trace_without_invoke_agent",
            extra={"otel.trace_id": self.trace_id},
        )
        return events, spec, skipped, agentless

    @staticmethod
    def _initiator(span: Span) -> str | None:
        return next(
            (
                _text(span, key)
                for key in ("agentaudit.initiated_by", *USER_ATTRIBUTES)
                if _text(span, key)
            ),
            None,
        )


def otel_events(
    documents: Iterable[Any],
    *,
    on_reject: Callable[[Rejected], None] | None = None,
    stats: OtelStats | None = None,
) -> Iterator[dict[str, Any]]:
    """Map OTLP JSON trace documents (ExportTraceServiceRequest objects) to contract events.

    `documents` contains decoded JSON documents and `Rejected` values from a reader. A span
    that lacks ids, a start time or any agent id is passed to `on_reject` with the reason.
    """
    stats = stats if stats is not None else OtelStats()
    traces: dict[str, list[Span]] = defaultdict(list)
    for index, document in enumerate(documents):
        stats.records_read += 1
        if isinstance(document, Rejected):
            record_rejection("otel", document, stats, on_reject)
            continue
        origin = f"document {index}"
        if isinstance(document, dict) and "_origin" in document:
            origin = str(document["_origin"])
        if not isinstance(document, dict) or "resourceSpans" not in document:
            record_rejection(
                "otel",
                Rejected(
                    raw_bytes(document), "not an OTLP JSON trace document: no resourceSpans", origin
                ),
                stats,
                on_reject,
            )
            continue
        for position, (raw, resource, scope) in enumerate(iter_raw_spans(document)):
            stats.spans_read += 1
            try:
                span = decode_span(raw, resource, scope)
            except (InvalidSpan, TypeError, AttributeError, ValueError) as exc:
                record_rejection(
                    "otel",
                    Rejected(raw_bytes(raw), str(exc), f"{origin} span {position}"),
                    stats,
                    on_reject,
                )
                continue
            traces[span.trace_id].append(span)

    events: list[dict[str, Any]] = []
    specs: dict[str, TaskSpec] = {}
    for trace_id, spans in traces.items():
        mapper = _TraceMapper(trace_id, spans)
        trace_events, spec, skipped, agentless = mapper.map()
        stats.spans_skipped += skipped
        for span in agentless:
            reason = "span names no agent: no gen_ai.agent.id, gen_ai.agent.name or service.name"
            origin = f"trace {trace_id} span {span.span_id}"
            record_rejection(
                "otel",
                Rejected(raw_bytes(_attributes(span, None)), reason, origin),
                stats,
                on_reject,
            )
        events.extend(trace_events)
        stats.spans_mapped += len(spans) - skipped - len(agentless)
        if spec is not None:
            specs[trace_id] = spec
    for event in add_task_events(events, specs):
        stats.events += 1
        yield {key: value for key, value in event.items() if value is not None}
    log.info(
        "otel: read %d documents, %d spans: mapped %d, skipped %d, rejected %d; %d events",
        stats.records_read,
        stats.spans_read,
        stats.spans_mapped,
        stats.spans_skipped,
        stats.rejected,
        stats.events,
    )


def read_otlp(paths: Iterable[Path]) -> Iterator[Any]:
    """Yield the OTLP JSON documents of files: one document, or one per line, maybe gzipped."""
    for path in paths:
        for origin, value in iter_json_values(Path(path)):
            if isinstance(value, dict):
                value = {**value, "_origin": origin}
            yield value
