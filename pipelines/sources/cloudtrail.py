"""AWS CloudTrail records as decision events.

Every API call becomes one tool_invoked event for the caller, carrying the CloudTrail
eventID, the caller's access key as credential_id and the IAM action as its scope. A
successful call that issues, revokes or grants something adds effect events
(credential_issued, credential_revoked, grant_added, grant_removed) whose ids derive from
the eventID. Calls are grouped into derived tasks: one per STS session key, otherwise one
per burst of calls from the same principal, source IP and user agent. docs/sources.md
gives the full mapping and the reasons behind it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.sources.cloudtrail_effects import STS_ISSUE_CALLS, iam_effects, sts_credential_issued
from pipelines.sources.cloudtrail_identity import Caller, caller_from_identity, expiry_bound
from pipelines.sources.cloudtrail_vocabulary import (
    action_for,
    iam_scope,
    outcome_for,
    resource_for,
)
from pipelines.sources.common import (
    Rejected,
    bounded,
    digest,
    isoformat,
    parse_iso_utc,
    raw_bytes,
    record_rejection,
)
from pipelines.sources.readers import iter_json_values
from pipelines.sources.tasks import TaskSpec, add_task_events

log = logging.getLogger(__name__)

SOURCE = "cloudtrail"
# A burst of calls from one principal, IP and user agent ends after this much idle time.
DEFAULT_BURST_GAP = timedelta(minutes=30)
# Top-level fields whose values the contract fields already hold.
_MAPPED_FIELDS = ("eventID", "eventTime", "@timestamp")
# Fields that may be very large; over the limit they are replaced by a summary.
_LARGE_FIELDS = (
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "errorMessage",
    "resources",
)
# Keys whose values are credentials: key ids are kept only as credential_id, secrets never.
_KEY_ID_FIELDS = frozenset({"accessKeyId"})
_SECRET_FIELDS = frozenset({"sessionToken", "secretAccessKey"})
ORIGIN_KEY = "_origin"

RejectHandler = Callable[[Rejected], None]


class Unmappable(ValueError):
    """A record that cannot become any event; the message is the quarantine reason."""


@dataclass
class MappedCall:
    """One CloudTrail record after mapping: the caller's event and the call's effects."""

    caller: Caller
    primary: dict[str, Any]
    effects: list[dict[str, Any]]
    moment: datetime
    burst_key: tuple[str, str, str]


@dataclass
class ImportStats:
    """Counts of one mapping run, for the importer's summary."""

    records_read: int = 0
    records_mapped: int = 0
    duplicates_skipped: int = 0
    rejected: int = 0
    events: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def _scrub_credentials(value: Any, path: str, omitted: list[str]) -> Any:
    """Copy a JSON value with access key ids hashed and session secrets removed."""
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in _SECRET_FIELDS and isinstance(item, str):
                cleaned[key] = "[omitted at import]"
                omitted.append(where)
            elif key in _KEY_ID_FIELDS and isinstance(item, str):
                cleaned[key] = f"key-sha256:{digest(item)}"
            else:
                cleaned[key] = _scrub_credentials(item, where, omitted)
        return cleaned
    if isinstance(value, list):
        return [_scrub_credentials(item, path, omitted) for item in value]
    return value


def _attributes(record: dict[str, Any]) -> dict[str, Any]:
    """Keep every field the contract does not hold, bounded in size and without secrets."""
    omitted: list[str] = []
    truncated: list[str] = []
    attributes: dict[str, Any] = {}
    for key, value in record.items():
        if key in _MAPPED_FIELDS or key.startswith("_"):
            continue
        value = _scrub_credentials(value, key, omitted)
        if key in _LARGE_FIELDS:
            value, was_truncated = bounded(value)
            if was_truncated:
                truncated.append(key)
        attributes[key] = value
    if omitted:
        attributes["omitted_fields"] = omitted
    if truncated:
        attributes["truncated_fields"] = truncated
    return attributes


def _event_moment(record: dict[str, Any]) -> datetime:
    raw = record.get("eventTime") or record.get("@timestamp")
    if raw is None:
        raise Unmappable("missing eventTime and @timestamp")
    moment = parse_iso_utc(raw)
    if moment is None:
        raise Unmappable(f"event time {str(raw)[:64]!r} is not an ISO-8601 timestamp")
    return moment


def map_record(record: Any) -> MappedCall:
    """Map one CloudTrail record to its caller event and effect events, or raise Unmappable."""
    if not isinstance(record, dict):
        raise Unmappable(f"record is a JSON {type(record).__name__}, expected an object")
    event_source, event_name = record.get("eventSource"), record.get("eventName")
    if not isinstance(event_source, str) or not isinstance(event_name, str):
        raise Unmappable("not a CloudTrail record: eventSource or eventName missing")
    moment = _event_moment(record)
    caller = caller_from_identity(record.get("userIdentity"))
    if caller is None:
        raise Unmappable("userIdentity missing or names no caller, so no agent can be given")
    event_id = record.get("eventID")
    if not isinstance(event_id, str) or not event_id.strip():
        # CloudTrail always sets eventID; a copy that lost it gets a content hash, stable
        # across re-imports, so deduplication still holds.
        event_id = f"cloudtrail-sha256:{digest(raw_bytes(record).decode('utf-8'), length=32)}"
    record = {**record, "eventID": event_id, "_event_time": isoformat(moment)}

    error_code = record.get("errorCode")
    outcome = outcome_for(error_code)
    primary: dict[str, Any] = {
        "event_id": event_id,
        "schema_version": "1",
        "event_time": record["_event_time"],
        "event_type": "tool_invoked",
        "agent_id": caller.agent_id,
        "agent_kind": caller.agent_kind,
        "principal_id": caller.principal_id,
        "principal_type": caller.principal_type,
        "on_behalf_of": caller.on_behalf_of,
        "auth_method": caller.auth_method,
        "credential_id": caller.credential_id,
        "tool": f"{event_source}:{event_name}",
        "action": action_for(event_name, record.get("readOnly")),
        "resource": resource_for(record),
        "system": event_source,
        "scopes": [iam_scope(event_source, event_name)],
        "outcome": outcome,
        "source": SOURCE,
        "tenant": record.get("recipientAccountId"),
        "attributes": _attributes(record),
    }
    if outcome == "denied":
        primary["decision"] = "deny"
        primary["reason"] = str(error_code)

    effects: list[dict[str, Any]] = []
    if outcome == "success":
        if event_source == "sts.amazonaws.com" and event_name in STS_ISSUE_CALLS:
            issued = sts_credential_issued(record, caller)
            effects.extend([issued] if issued else [])
        elif event_source == "iam.amazonaws.com":
            effects.extend(iam_effects(record, caller))
    for effect in effects:
        effect["attributes"]["tool"] = primary["tool"]

    burst_key = (
        caller.principal_id or caller.agent_id,
        str(record.get("sourceIPAddress")),
        str(record.get("userAgent")),
    )
    return MappedCall(caller, primary, effects, moment, burst_key)


def _session_task_id(credential_id: str) -> str:
    # The key itself never goes into a task id: outside credential_id it counts as a leak.
    return f"cloudtrail:session:{digest(credential_id)}"


def _spec_from(event: dict[str, Any], task_id: str, basis: str) -> TaskSpec:
    return TaskSpec(
        task_id=task_id,
        agent_id=event["agent_id"],
        agent_kind=event.get("agent_kind"),
        principal_id=event.get("principal_id"),
        principal_type=event.get("principal_type"),
        on_behalf_of=event.get("on_behalf_of"),
        source=SOURCE,
        tenant=event.get("tenant"),
        basis=basis,
    )


def assign_tasks(
    calls: list[MappedCall], *, burst_gap: timedelta = DEFAULT_BURST_GAP
) -> tuple[list[dict[str, Any]], dict[str, TaskSpec]]:
    """Give every event a task_id and describe each task; return the events and task specs.

    An STS session key is one task, from its issue (when imported) to its last use. A key
    issued but never used leaves its task open, because nothing shows when its work ended.
    Calls made with a long-term key, or with no key, form bursts per (principal, source IP,
    user agent) split by `burst_gap` idle time.
    """
    calls = sorted(calls, key=lambda call: (call.moment, call.primary["event_id"]))
    issued: dict[str, dict[str, Any]] = {}
    for call in calls:
        for effect in call.effects:
            if effect["event_type"] == "credential_issued" and effect["auth_method"] != "api_key":
                issued.setdefault(effect["credential_id"], effect)

    specs: dict[str, TaskSpec] = {}
    used_sessions: set[str] = set()
    first_seen: dict[str, tuple[datetime, Caller]] = {}
    bursts: dict[tuple[str, str, str], tuple[str, datetime]] = {}
    events: list[dict[str, Any]] = []

    for call in calls:
        primary = call.primary
        key = primary.get("credential_id")
        if key and (call.caller.temporary_key or key in issued):
            task_id = _session_task_id(key)
            used_sessions.add(task_id)
            specs.setdefault(task_id, _spec_from(primary, task_id, "sts_session"))
            first_seen.setdefault(key, (call.moment, call.caller))
        else:
            open_burst = bursts.get(call.burst_key)
            if open_burst is None or call.moment - open_burst[1] > burst_gap:
                task_id = "cloudtrail:burst:" + digest(*call.burst_key, isoformat(call.moment))
                spec = _spec_from(primary, task_id, "burst")
                spec.initiated_by = primary.get("principal_id")
                specs[task_id] = spec
            else:
                task_id = open_burst[0]
            bursts[call.burst_key] = (task_id, call.moment)
        primary["task_id"] = task_id
        events.append(primary)
        for effect in call.effects:
            if (
                effect["event_type"] == "credential_issued"
                and effect["credential_id"] in issued
                and issued[effect["credential_id"]] is effect
            ):
                effect["task_id"] = _session_task_id(effect["credential_id"])
            else:
                effect["task_id"] = task_id
            events.append(effect)

    for key, effect in issued.items():
        task_id = _session_task_id(key)
        spec = _spec_from(effect, task_id, "sts_session")
        spec.initiated_by = effect.get("initiated_by")
        spec.started_at = parse_iso_utc(effect["event_time"])
        spec.open = task_id not in used_sessions
        specs[task_id] = spec

    _fill_session_expiry(events, issued, first_seen)
    return events, specs


def _fill_session_expiry(
    events: list[dict[str, Any]],
    issued: dict[str, dict[str, Any]],
    first_seen: dict[str, tuple[datetime, Caller]],
) -> None:
    """Put the known or latest possible expiry of each temporary key on the events using it."""
    for event in events:
        key = event.get("credential_id")
        if event["event_type"] != "tool_invoked" or not key:
            continue
        if key in issued:
            event["credential_expires_at"] = issued[key].get("credential_expires_at")
            continue
        seen = first_seen.get(key)
        if seen is None:
            continue
        moment, caller = seen
        bound = expiry_bound(caller, moment, parse_iso_utc(caller.session_created_at))
        if bound is not None:
            event["credential_expires_at"] = isoformat(bound)
            event["attributes"]["credential_expires_at_basis"] = "sts_maximum_duration"


def cloudtrail_events(
    records: Iterable[Any],
    *,
    on_reject: RejectHandler | None = None,
    burst_gap: timedelta = DEFAULT_BURST_GAP,
    stats: ImportStats | None = None,
) -> Iterator[dict[str, Any]]:
    """Map CloudTrail records to contract events with derived tasks, in time order.

    `records` contains decoded records (dicts) and `Rejected` values from a reader. A record
    that cannot be mapped is passed to `on_reject` with the reason, and a repeated eventID
    is skipped. The whole batch is held in memory, because a task's end is known only once
    every record has been read.
    """
    stats = stats if stats is not None else ImportStats()
    calls: list[MappedCall] = []
    seen_ids: set[str] = set()
    for index, record in enumerate(records):
        stats.records_read += 1
        origin = f"record {index}"
        if isinstance(record, dict) and ORIGIN_KEY in record:
            origin = str(record[ORIGIN_KEY])
            record = {key: value for key, value in record.items() if key != ORIGIN_KEY}
        if isinstance(record, Rejected):
            record_rejection("cloudtrail", record, stats, on_reject)
            continue
        try:
            call = map_record(record)
        except Unmappable as exc:
            record_rejection(
                "cloudtrail", Rejected(raw_bytes(record), str(exc), origin), stats, on_reject
            )
            continue
        except (TypeError, AttributeError, ValueError) as exc:
            # A field of an unexpected type that the mapping does not guard against yet: the
            # record goes to quarantine instead of stopping the import.
            log.warning("cloudtrail: mapping %s failed: %r", origin, exc)
            reason = f"mapping failed on an unexpected value: {type(exc).__name__}: {exc}"
            record_rejection(
                "cloudtrail", Rejected(raw_bytes(record), reason, origin), stats, on_reject
            )
            continue
        if call.primary["event_id"] in seen_ids:
            stats.duplicates_skipped += 1
            continue
        seen_ids.add(call.primary["event_id"])
        stats.records_mapped += 1
        calls.append(call)

    events, specs = assign_tasks(calls, burst_gap=burst_gap)
    for event in add_task_events(events, specs):
        stats.events += 1
        yield {key: value for key, value in event.items() if value is not None}
    log.info(
        "cloudtrail: read %d records, mapped %d, skipped %d duplicates, rejected %d; %d events",
        stats.records_read,
        stats.records_mapped,
        stats.duplicates_skipped,
        stats.rejected,
        stats.events,
    )


def read_cloudtrail(paths: Iterable[Path]) -> Iterator[Any]:
    """Yield the CloudTrail records of files, each tagged with its origin (file and position).

    Accepts a JSON array of records, a {"Records": [...]} object as CloudTrail delivers to
    S3, one record, or NDJSON with one record per line, each optionally gzip-compressed.
    """
    for path in paths:
        for origin, value in iter_json_values(Path(path)):
            if isinstance(value, Rejected):
                yield value
                continue
            if isinstance(value, dict) and isinstance(value.get("Records"), list):
                items = value["Records"]
            elif isinstance(value, list):
                items = value
            else:
                yield _tagged(value, origin)
                continue
            for index, item in enumerate(items):
                yield _tagged(item, f"{origin}[{index}]")


def _tagged(value: Any, origin: str) -> Any:
    if isinstance(value, dict):
        return {**value, ORIGIN_KEY: origin}
    return Rejected(
        raw_bytes(value), f"record is a JSON {type(value).__name__}, expected an object", origin
    )
