"""Every sink type in one table: how it renders an alert and which transport carries it.

A renderer turns (alert, is_update) into the bytes of one record. An opener builds the
transport from the sink's configuration and the environment, which is where secrets come
from. The delivery engine treats every sink alike.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from detections.export.alerts import Alert
from detections.export.config import SinkConfig
from detections.export.errors import ExportConfigError
from detections.export.formats import cef, ecs, leef, ocsf
from detections.export.formats.common import action_name
from detections.export.formats.hec import render_hec_event
from detections.export.formats.native import alert_document
from detections.export.formats.syslog import (
    DEFAULT_FACILITY,
    DEFAULT_SD_ID,
    build_message,
    facility_code,
    structured_data,
)
from detections.export.transports import Transport
from detections.export.transports.file import NdjsonFileTransport
from detections.export.transports.hec import HecTransport
from detections.export.transports.syslog import TcpSyslogTransport, UdpSyslogTransport
from detections.export.transports.webhook import DEFAULT_SIGNATURE_HEADER, WebhookTransport

Renderer = Callable[[Alert, bool], bytes]


@dataclass(frozen=True)
class SinkType:
    """The renderer factory and transport opener of one kind of sink."""

    build_renderer: Callable[[SinkConfig], Renderer]
    open_transport: Callable[[SinkConfig, Mapping[str, str]], Transport]
    # When a transport cannot tell which records of a failed batch arrived, the engine
    # sends one record per batch to avoid re-sending delivered ones.
    max_batch_size: int | None = None


def _json_line(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


# -- renderers -------------------------------------------------------------------------


def _ocsf_renderer(sink: SinkConfig) -> Renderer:
    return lambda alert, is_update: _json_line(ocsf.render_finding(alert, is_update))


def _ecs_renderer(sink: SinkConfig) -> Renderer:
    index = sink.get("index", ecs.DEFAULT_INDEX)

    def render(alert: Alert, is_update: bool) -> bytes:
        action = _json_line(ecs.render_bulk_action(alert, index))
        return action + _json_line(ecs.render_document(alert, is_update))

    return render


def _hec_renderer(sink: SinkConfig) -> Renderer:
    return lambda alert, is_update: render_hec_event(alert, is_update, sink.options)


def _webhook_renderer(sink: SinkConfig) -> Renderer:
    return lambda alert, is_update: _json_line(alert_document(alert, is_update))


def _syslog_renderer(sink: SinkConfig) -> Renderer:
    try:
        return _build_syslog_renderer(sink)
    except ExportConfigError as exc:
        raise ExportConfigError(f"sink {sink.name!r}: {exc}") from None


def _build_syslog_renderer(sink: SinkConfig) -> Renderer:
    payload_format = sink.get("format", "cef")
    if payload_format == "cef":
        render_payload = cef.render_cef
    elif payload_format == "leef":
        delimiter = leef.validate_delimiter(sink.get("leef_delimiter", leef.DEFAULT_DELIMITER))

        def render_payload(alert: Alert, is_update: bool) -> str:
            return leef.render_leef(alert, is_update, delimiter)
    else:
        raise ExportConfigError(f"invalid format {payload_format!r}; expected cef or leef")
    facility = facility_code(sink.get("facility", DEFAULT_FACILITY))
    hostname = sink.get("hostname") or socket.gethostname()
    app_name = sink.get("app_name", "agentaudit")
    sd_id = sink.get("sd_id", DEFAULT_SD_ID)
    procid = str(os.getpid())

    def render(alert: Alert, is_update: bool) -> bytes:
        sd = structured_data(
            sd_id,
            [
                ("alertId", alert.alert_id),
                ("action", action_name(is_update)),
                ("contentHash", alert.content_hash),
            ],
        )
        return build_message(
            facility=facility,
            severity=alert.severity,
            timestamp=alert.last_detected_at,
            hostname=hostname,
            app_name=app_name,
            procid=procid,
            msgid="alert",
            sd=sd,
            msg=render_payload(alert, is_update),
        )

    return render


# -- transports ------------------------------------------------------------------------


def _open_file(sink: SinkConfig, environ: Mapping[str, str]) -> Transport:
    return NdjsonFileTransport(Path(sink.require("path")))


def _secret(sink: SinkConfig, key: str, environ: Mapping[str, str]) -> str:
    variable = sink.require(key)
    value = environ.get(variable)
    if not value:
        raise ExportConfigError(
            f"sink {sink.name!r}: environment variable {variable} (named by {key}) is not set; "
            "export it before running the export"
        )
    return value


def _open_hec(sink: SinkConfig, environ: Mapping[str, str]) -> Transport:
    return HecTransport(
        url=sink.require("url"),
        token=_secret(sink, "token_env", environ),
        timeout=sink.timeout_seconds,
        ack=bool(sink.get("ack", False)),
        ack_timeout=float(sink.get("ack_timeout_seconds", 30.0)),
        ack_poll_interval=float(sink.get("ack_poll_seconds", 1.0)),
        channel=sink.get("channel"),
        verify_tls=bool(sink.get("verify_tls", True)),
        ca_file=sink.get("ca_file"),
    )


def _open_syslog(sink: SinkConfig, environ: Mapping[str, str]) -> Transport:
    host = sink.require("host")
    port = sink.require("port")
    protocol = sink.get("protocol", "tcp")
    if protocol == "tcp":
        return TcpSyslogTransport(host, int(port), sink.timeout_seconds)
    if protocol == "udp":
        return UdpSyslogTransport(host, int(port), sink.timeout_seconds)
    raise ExportConfigError(f"sink {sink.name!r}: invalid protocol {protocol!r}; use tcp or udp")


def _open_webhook(sink: SinkConfig, environ: Mapping[str, str]) -> Transport:
    secret = None
    if sink.get("hmac_secret_env"):
        secret = _secret(sink, "hmac_secret_env", environ).encode()
    return WebhookTransport(
        url=sink.require("url"),
        timeout=sink.timeout_seconds,
        secret=secret,
        signature_header=sink.get("signature_header", DEFAULT_SIGNATURE_HEADER),
        headers=sink.get("headers") or {},
        verify_tls=bool(sink.get("verify_tls", True)),
        ca_file=sink.get("ca_file"),
    )


SINK_TYPES: dict[str, SinkType] = {
    "ocsf_file": SinkType(_ocsf_renderer, _open_file),
    "ecs_bulk_file": SinkType(_ecs_renderer, _open_file),
    "splunk_hec": SinkType(_hec_renderer, _open_hec),
    "syslog": SinkType(_syslog_renderer, _open_syslog, max_batch_size=1),
    "webhook": SinkType(_webhook_renderer, _open_webhook, max_batch_size=1),
}
