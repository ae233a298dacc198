"""Independent parsers for what the sinks emit: RFC 6587 frames, RFC 5424, CEF and LEEF.

They follow the format specifications rather than the exporter's code, so a test that
parses a sink's output back checks the escaping, not a mirror of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def split_octet_frames(stream: bytes) -> list[bytes]:
    """Split an RFC 6587 octet-counted stream into messages; raise on a malformed frame."""
    messages = []
    position = 0
    while position < len(stream):
        space = stream.index(b" ", position)
        length = int(stream[position:space])
        start = space + 1
        if start + length > len(stream):
            raise ValueError(f"frame at {position} declares {length} bytes past the stream end")
        messages.append(stream[start : start + length])
        position = start + length
    return messages


@dataclass
class SyslogMessage:
    pri: int
    version: str
    timestamp: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    structured_data: dict[str, dict[str, str]]
    msg: str


def parse_rfc5424(message: bytes) -> SyslogMessage:
    text = message.decode("utf-8")
    match = re.match(r"<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) ", text)
    if match is None:
        raise ValueError(f"not an RFC 5424 header: {text[:80]!r}")
    rest = text[match.end() :]
    sd, msg = _parse_structured_data(rest)
    return SyslogMessage(
        pri=int(match.group(1)),
        version=match.group(2),
        timestamp=match.group(3),
        hostname=match.group(4),
        app_name=match.group(5),
        procid=match.group(6),
        msgid=match.group(7),
        structured_data=sd,
        msg=msg,
    )


def _parse_structured_data(text: str) -> tuple[dict[str, dict[str, str]], str]:
    if text.startswith("- "):
        return {}, text[2:]
    elements: dict[str, dict[str, str]] = {}
    position = 0
    while position < len(text) and text[position] == "[":
        end_id = text.index(" ", position)
        sd_id = text[position + 1 : end_id]
        params: dict[str, str] = {}
        position = end_id
        while text[position] == " ":
            equals = text.index("=", position)
            name = text[position + 1 : equals]
            if text[equals + 1] != '"':
                raise ValueError(f"SD-PARAM {name} value is not quoted")
            value, position = _read_quoted(text, equals + 2)
            params[name] = value
        if text[position] != "]":
            raise ValueError(f"SD-ELEMENT {sd_id} not closed at {position}")
        elements[sd_id] = params
        position += 1
    if text[position : position + 1] != " ":
        raise ValueError("no space between STRUCTURED-DATA and MSG")
    return elements, text[position + 1 :]


def _read_quoted(text: str, position: int) -> tuple[str, int]:
    value = []
    while True:
        char = text[position]
        if char == "\\" and text[position + 1] in '"\\]':
            value.append(text[position + 1])
            position += 2
        elif char == '"':
            return "".join(value), position + 1
        elif char == "]":
            raise ValueError("unescaped ']' inside an SD-PARAM value")
        else:
            value.append(char)
            position += 1


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """Return the 7 header fields (unescaped) and the extension as a dict."""
    header: list[str] = []
    current: list[str] = []
    position = 0
    while len(header) < 7:
        char = line[position]
        if char == "\\" and line[position + 1] in "\\|":
            current.append(line[position + 1])
            position += 2
        elif char == "|":
            header.append("".join(current))
            current = []
            position += 1
        elif char in "\r\n":
            raise ValueError("line break inside a CEF header")
        else:
            current.append(char)
            position += 1
    return header, _parse_cef_extension(line[position:])


def _parse_cef_extension(text: str) -> dict[str, str]:
    if "\n" in text or "\r" in text:
        raise ValueError("raw line break inside a CEF extension")
    # Positions of unescaped '=' signs; each one ends a key that follows a space.
    separators = []
    position = 0
    while position < len(text):
        if text[position] == "\\":
            position += 2
            continue
        if text[position] == "=":
            separators.append(position)
        position += 1
    pairs: list[tuple[str, int, int]] = []
    for equals in separators:
        key_start = equals
        while key_start > 0 and (
            text[key_start - 1].isascii()
            and (text[key_start - 1].isalnum() or text[key_start - 1] == "_")
        ):
            key_start -= 1
        if key_start == equals:
            raise ValueError(f"'=' at {equals} not preceded by a key")
        if key_start > 0 and text[key_start - 1] != " ":
            raise ValueError(f"key {text[key_start:equals]} not preceded by a space")
        pairs.append((text[key_start:equals], key_start, equals))
    fields: dict[str, str] = {}
    for index, (key, _, equals) in enumerate(pairs):
        end = pairs[index + 1][1] - 1 if index + 1 < len(pairs) else len(text)
        if key in fields:
            raise ValueError(f"duplicate CEF key {key}")
        fields[key] = _unescape_cef_value(text[equals + 1 : end])
    return fields


def _unescape_cef_value(value: str) -> str:
    out = []
    position = 0
    replacements = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}
    while position < len(value):
        char = value[position]
        if char == "\\":
            following = value[position + 1]
            if following not in replacements:
                raise ValueError(f"unknown CEF escape \\{following}")
            out.append(replacements[following])
            position += 2
        else:
            out.append(char)
            position += 1
    return "".join(out)


def parse_leef(line: str) -> tuple[list[str], dict[str, str]]:
    """Return the LEEF 2.0 header fields (version to delimiter) and the attributes."""
    if "\n" in line or "\r" in line:
        raise ValueError("line break inside a LEEF event")
    parts = line.split("|", 6)
    if len(parts) != 7 or parts[0] != "LEEF:2.0":
        raise ValueError(f"not a LEEF 2.0 header: {line[:80]!r}")
    declared = parts[5]
    delimiter = (
        chr(int(declared[1:], 16)) if re.fullmatch(r"x[0-9A-Fa-f]{2}", declared) else declared
    )
    attributes: dict[str, str] = {}
    for pair in parts[6].split(delimiter):
        key, separator, value = pair.partition("=")
        if not separator:
            raise ValueError(f"LEEF attribute without '=': {pair[:40]!r}")
        if key in attributes:
            raise ValueError(f"duplicate LEEF key {key}")
        attributes[key] = value
    return parts[:6], attributes
