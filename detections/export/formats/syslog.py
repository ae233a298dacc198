"""RFC 5424 syslog messages carrying a CEF or LEEF payload.

Header fields are printable US-ASCII without spaces, so other characters become '_' and
each field is cut to its RFC 5424 maximum length. Structured-data parameter values escape
'"', '\\' and ']' with a backslash, as RFC 5424 section 6.3.3 requires.
"""

from __future__ import annotations

from datetime import datetime

from detections.export.errors import ExportConfigError
from detections.export.formats.common import iso_utc

FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "audit": 13,
    "alert": 14, "clock": 15, "local0": 16, "local1": 17, "local2": 18, "local3": 19,
    "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}  # fmt: skip
DEFAULT_FACILITY = "authpriv"

# Syslog severity: 2 critical, 3 error, 4 warning, 5 notice, 6 informational.
SEVERITIES = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}

# 32473 is the private enterprise number RFC 5612 reserves for documentation; set
# `sd_id` in the sink's configuration to use your organisation's own.
DEFAULT_SD_ID = "agentaudit@32473"

HOSTNAME_MAX = 255
APP_NAME_MAX = 48
PROCID_MAX = 128
MSGID_MAX = 32


def facility_code(name: str) -> int:
    try:
        return FACILITIES[name]
    except KeyError:
        raise ExportConfigError(
            f"invalid syslog facility {name!r}; expected one of {', '.join(FACILITIES)}"
        ) from None


def header_field(value: str | None, max_length: int) -> str:
    """Return a header field of printable US-ASCII, or the nil value '-' when empty."""
    if not value:
        return "-"
    cleaned = "".join(char if 33 <= ord(char) <= 126 else "_" for char in value)
    return cleaned[:max_length]


def sd_param_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def structured_data(sd_id: str, params: list[tuple[str, str]]) -> str:
    inner = " ".join(f'{name}="{sd_param_value(value)}"' for name, value in params)
    return f"[{sd_id} {inner}]"


def build_message(
    *,
    facility: int,
    severity: str,
    timestamp: datetime,
    hostname: str | None,
    app_name: str,
    procid: str | None,
    msgid: str,
    sd: str,
    msg: str,
) -> bytes:
    """Return one RFC 5424 message as UTF-8 bytes, without transport framing."""
    pri = facility * 8 + SEVERITIES.get(severity, 4)
    header = " ".join(
        [
            f"<{pri}>1",
            iso_utc(timestamp),
            header_field(hostname, HOSTNAME_MAX),
            header_field(app_name, APP_NAME_MAX),
            header_field(procid, PROCID_MAX),
            header_field(msgid, MSGID_MAX),
            sd,
        ]
    )
    return f"{header} {msg}".encode()


def octet_counted(message: bytes) -> bytes:
    """Frame a message for TCP with RFC 6587 octet counting: `<length> <message>`."""
    return str(len(message)).encode() + b" " + message
