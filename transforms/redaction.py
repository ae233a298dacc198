"""Redaction of secret material found in decision events before they reach Parquet.

Each redacted value is replaced by `[REDACTED:<kind>]` and its path recorded, so that the
`secret_in_event` detection can raise the exposure as a finding without keeping the secret.
"""

from __future__ import annotations

import re
from typing import Any

# Patterns for secrets that agents and gateways leak most often. Access key ids (AKIA,
# ASIA) are identifiers rather than secrets, and the contract allows them in credential_id,
# but anywhere else they are redacted because they usually travel with the secret.
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "private_key",
        re.compile(
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"
            r"[\s\S]*?(?:-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----|$)"
        ),
    ),
    (
        "aws_secret_access_key",
        re.compile(
            r"(?i)(?<=aws_secret_access_key)([\"'\s:=]+)[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
        ),
    ),
    ("aws_session_token", re.compile(r"\b(?:IQoJ|FwoG|FQoG)[A-Za-z0-9/+=]{100,}")),
    ("aws_access_key_id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("bearer_token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{20,}=*")),
    ("github_token", re.compile(r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36}\b")),
    ("api_secret_key", re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}")),
    ("slack_token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
)

# Every secret pattern above contains one of these markers. Most strings in an event contain
# none, and substring tests are far cheaper than the regular expressions, so a string
# without a marker skips the nine substitutions. "sk-" alone also occurs inside words
# ("task-1"), so it counts only at the start of a word.
_CASED_MARKERS = (
    "-----BEGIN",
    "IQoJ",
    "FwoG",
    "FQoG",
    "AKIA",
    "ASIA",
    "eyJ",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "xoxs-",
)
_CASELESS_MARKERS = (
    "bearer",
    "aws_secret_access_key",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "api_key",
    "apikey",
    "apikey",
    "private",
    "token",
    "authorization",
    "cookie",
)
_API_KEY_START = re.compile(r"\bsk-")
_CASED_MARKERS_BYTES = tuple(marker.encode() for marker in _CASED_MARKERS)
_CASELESS_MARKERS_BYTES = tuple(marker.encode() for marker in _CASELESS_MARKERS)
_API_KEY_START_BYTES = re.compile(rb"\bsk-")


def _has_marker(text: str) -> bool:
    if any(marker in text for marker in _CASED_MARKERS):
        return True
    lowered = text.lower()
    if any(marker in lowered for marker in _CASELESS_MARKERS):
        return True
    return "sk-" in text and _API_KEY_START.search(text) is not None


# The shortest secret the patterns match (a Slack token) is 15 characters long.
_MIN_SECRET_LENGTH = 15

# Fields whose values are identifiers by contract: only true secrets are redacted there.
_IDENTIFIER_FIELDS = {"credential_id"}
_IDENTIFIER_EXEMPT_KINDS = {"aws_access_key_id"}


def may_contain_secret(raw: bytes) -> bool:
    """Return False only when no string decoded from the JSON bytes `raw` can hold a secret.

    A JSON \\u escape can spell a marker in other bytes, so any escape means True.
    """
    if b"\\u" in raw or any(marker in raw for marker in _CASED_MARKERS_BYTES):
        return True
    lowered = raw.lower()
    if any(marker in lowered for marker in _CASELESS_MARKERS_BYTES):
        return True
    return b"sk-" in raw and _API_KEY_START_BYTES.search(raw) is not None


def redact_text(
    text: str, *, exempt: frozenset[str] | set[str] = frozenset()
) -> tuple[str, list[str]]:
    """Return `text` with secrets replaced, and the kinds of secret found in it."""
    found: list[str] = []
    if len(text) < _MIN_SECRET_LENGTH or not _has_marker(text):
        return text, found
    for kind, pattern in SECRET_PATTERNS:
        if kind in exempt:
            continue
        if kind == "aws_secret_access_key":
            # Keep the separator after the key name, replace only the 40-character secret.
            text, count = pattern.subn(r"\1[REDACTED:aws_secret_access_key]", text)
        else:
            text, count = pattern.subn(f"[REDACTED:{kind}]", text)
        if count:
            found.append(kind)
    return text, found


# Object keys whose string values are secrets whatever they look like, e.g. a bare 40-character
# AWS secret access key under "aws_secret_access_key". Separators and case are ignored.
_SECRET_KEY = re.compile(
    r"(?:^|_)(?:secret|password|passwd|passphrase|apikey|api_key|privatekey|private_key"
    r"|token|authorization|cookie|secret_access_key|client_secret)$"
)


def _is_secret_key(key: str) -> bool:
    normalized = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
    return _SECRET_KEY.search(normalized) is not None


def _redact_value(value: Any, path: str, findings: list[str]) -> Any:
    if isinstance(value, str):
        exempt = _IDENTIFIER_EXEMPT_KINDS if path in _IDENTIFIER_FIELDS else frozenset()
        cleaned, kinds = redact_text(value, exempt=exempt)
        findings.extend(f"{path}:{kind}" for kind in kinds)
        return cleaned
    if isinstance(value, dict):
        cleaned_dict = {}
        for key, item in value.items():
            child = f"{path}.{key}"
            if isinstance(item, str) and item and not item.startswith("[REDACTED:"):
                if _is_secret_key(str(key)):
                    findings.append(f"{child}:secret_field")
                    cleaned_dict[key] = "[REDACTED:secret_field]"
                    continue
            cleaned_dict[key] = _redact_value(item, child, findings)
        return cleaned_dict
    if isinstance(value, list):
        return [_redact_value(item, f"{path}[{i}]", findings) for i, item in enumerate(value)]
    return value


def redact_record(row: dict[str, Any]) -> list[str] | None:
    """Redact secrets in every string of `row` in place; return the redacted `path:kind` list.

    Returns None when nothing was redacted, so that clean rows store a null.
    """
    findings: list[str] = []
    for key, value in row.items():
        if isinstance(value, str | dict | list):
            row[key] = _redact_value(value, key, findings)
    return findings or None
