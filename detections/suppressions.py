"""Suppressions: configured exceptions that mark matching alerts instead of dropping them.

Each entry of the `suppressions` configuration list names the rule it applies to, the
entities it matches (shell-style globs on `entity_id` and `agent_id`), its owner, the
reason and an expiry. A matching alert keeps its row, with `suppressed_by` set to the
suppression id, so that exporters skip it and analysts can still see it. An expired
suppression is ignored and logged, so that an exception never outlives its review date.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("id", "rule_id", "owner", "reason", "expires")
MATCH_FIELDS = ("entity_id", "agent_id")


class SuppressionError(ValueError):
    """A suppression entry is missing a field or has an invalid value."""


@dataclass(frozen=True)
class Suppression:
    """One configured suppression; `entity_id` and `agent_id` are globs, None matches all."""

    id: str
    rule_id: str
    owner: str
    reason: str
    expires: datetime
    entity_id: str | None = None
    agent_id: str | None = None

    def is_expired(self, now: datetime) -> bool:
        return self.expires <= now


def parse_expiry(value: Any, where: str) -> datetime:
    """Parse `expires`: a date means the suppression stops at 00:00 UTC on that date."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise SuppressionError(f"{where}.expires {value} has no time zone; add Z or +00:00")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise SuppressionError(
                f"{where}.expires {value!r} is not an ISO-8601 date or timestamp"
            ) from None
        if len(value.strip()) == 10:
            return parsed.replace(tzinfo=UTC)
        if parsed.tzinfo is None:
            raise SuppressionError(f"{where}.expires {value!r} has no time zone; add Z or +00:00")
        return parsed.astimezone(UTC)
    raise SuppressionError(f"{where}.expires must be a date such as 2027-01-31, got {value!r}")


def _optional_text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def parse_suppressions(entries: list[dict[str, Any]], known_rules: set[str]) -> list[Suppression]:
    """Validate the configured list, raising SuppressionError that names the entry and field."""
    if not isinstance(entries, list):
        raise SuppressionError("suppressions must be a list of mappings")
    parsed: list[Suppression] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"suppressions[{index}]"
        if not isinstance(entry, dict):
            raise SuppressionError(f"{where} must be a mapping with {', '.join(REQUIRED_FIELDS)}")
        for name in REQUIRED_FIELDS:
            if entry.get(name) in (None, ""):
                raise SuppressionError(f"{where}.{name} is missing")
        suppression_id = str(entry["id"])
        where = f"suppressions[{index}] ({suppression_id})"
        if suppression_id in seen:
            raise SuppressionError(f"{where}.id is used twice; give each suppression its own id")
        seen.add(suppression_id)
        rule_id = str(entry["rule_id"])
        if rule_id not in known_rules:
            raise SuppressionError(
                f"{where}.rule_id {rule_id!r} names no rule; "
                f"known: {', '.join(sorted(known_rules))}"
            )
        matchers = {name: entry.get(name) for name in MATCH_FIELDS}
        if all(value in (None, "") for value in matchers.values()):
            raise SuppressionError(
                f"{where} needs entity_id or agent_id (a glob such as 'sa:research_*'); "
                "a suppression of a whole rule must say entity_id: '*'"
            )
        unknown = set(entry) - set(REQUIRED_FIELDS) - set(MATCH_FIELDS)
        if unknown:
            raise SuppressionError(f"{where} has unknown field(s) {', '.join(sorted(unknown))}")
        parsed.append(
            Suppression(
                id=suppression_id,
                rule_id=rule_id,
                owner=str(entry["owner"]),
                reason=str(entry["reason"]),
                expires=parse_expiry(entry["expires"], where),
                entity_id=_optional_text(matchers["entity_id"]),
                agent_id=_optional_text(matchers["agent_id"]),
            )
        )
    return parsed


def active_suppressions(
    suppressions: list[Suppression], now: datetime
) -> tuple[list[Suppression], list[Suppression]]:
    """Split suppressions into (active, expired) at `now`, logging each expired one."""
    active, expired = [], []
    for suppression in suppressions:
        if suppression.is_expired(now):
            log.warning(
                "suppression %s for rule %s (owner %s) expired at %s and is ignored; "
                "renew or remove it",
                suppression.id, suppression.rule_id, suppression.owner,
                suppression.expires.isoformat(),
            )
            expired.append(suppression)
        else:
            active.append(suppression)
    return active, expired


def suppression_rows(suppressions: list[Suppression]) -> list[tuple[int, str, str, str, str]]:
    """Return (position, id, rule_id, entity glob, agent glob) rows; the first match wins."""
    return [
        (position, s.id, s.rule_id, s.entity_id or "*", s.agent_id or "*")
        for position, s in enumerate(suppressions)
    ]
