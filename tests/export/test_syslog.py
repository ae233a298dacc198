"""Syslog sinks against real TCP and UDP listeners on 127.0.0.1: RFC 5424 over RFC 6587
octet counting with CEF, over UDP with LEEF, parsed back field by field."""

from __future__ import annotations

from detections.export import run_export

from .alert_rows import alert_row, changed, insert_alerts
from .listeners import closed_port
from .parsers import parse_cef, parse_leef, parse_rfc5424, split_octet_frames


def syslog_sink(port: int, protocol: str, payload_format: str, **options) -> dict:
    sink = {
        "type": "syslog",
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "protocol": protocol,
        "format": payload_format,
        "hostname": "auditor-01",
        "facility": "local4",
        "retry": {"max_attempts": 2, "initial_backoff_seconds": 0},
        "timeout_seconds": 2,
    }
    sink.update(options)
    return {"siem": sink}


def test_tcp_cef_fields_round_trip(con, tcp_syslog, pacing):
    rows = [alert_row(n, severity=severity) for n, severity in enumerate(["critical", "low"])]
    insert_alerts(con, rows)

    result = run_export(con, syslog_sink(tcp_syslog.port, "tcp", "cef"), pacing=pacing)

    assert result.sink("siem").sent == 2
    tcp_syslog.wait_for(2)
    messages = [m for stream in tcp_syslog.streams for m in split_octet_frames(stream)]
    assert len(messages) == 2
    by_id = {row["alert_id"]: row for row in rows}
    for raw in messages:
        message = parse_rfc5424(raw)
        assert message.version == "1"
        assert message.hostname == "auditor-01"
        assert message.app_name == "agentaudit"
        assert message.msgid == "alert"
        params = message.structured_data["agentaudit@32473"]
        row = by_id[params["alertId"]]
        assert params["action"] == "create"
        assert params["contentHash"] == row["content_hash"]
        expected_severity = {"critical": 2, "low": 5}[row["severity"]]
        assert message.pri == 20 * 8 + expected_severity
        header, extension = parse_cef(message.msg)
        assert header[0] == "CEF:0"
        assert header[4] == row["rule_id"]
        assert header[5] == row["rule_title"]
        assert header[6] == {"critical": "10", "low": "3"}[row["severity"]]
        assert extension["externalId"] == row["alert_id"]
        assert extension["msg"] == row["explanation"]
        assert extension["act"] == "create"
        labels = {extension[f"cs{i}Label"]: extension[f"cs{i}"] for i in range(1, 7)}
        assert labels["entityId"] == row["entity_id"]
        assert labels["agentId"] == row["agent_id"]
        assert labels["evidenceEventIds"] == ",".join(row["evidence_event_ids"])


def test_udp_leef_fields_round_trip(con, udp_syslog, pacing):
    row = alert_row(1)
    insert_alerts(con, [row])
    sinks = syslog_sink(udp_syslog.port, "udp", "leef", leef_delimiter="\t")

    run_export(con, sinks, pacing=pacing)
    insert_alerts(con, [changed(row, "used again\tafter revocation")])
    result = run_export(con, sinks, pacing=pacing)

    assert result.sink("siem").updated == 1
    udp_syslog.wait_for(2)
    assert len(udp_syslog.datagrams) == 2
    create, update = (parse_rfc5424(datagram) for datagram in udp_syslog.datagrams)
    header, attributes = parse_leef(create.msg)
    assert header[4] == row["rule_id"]
    assert header[5] == "x09"
    assert attributes["alertId"] == row["alert_id"]
    assert attributes["action"] == "create"
    assert attributes["entityId"] == row["entity_id"]
    assert attributes["sev"] == "8"
    _, updated = parse_leef(update.msg)
    assert updated["action"] == "update"
    assert updated["explanation"] == "used again after revocation"
    assert update.structured_data["agentaudit@32473"]["action"] == "update"


def test_tcp_refused_stays_pending(con, pacing):
    insert_alerts(con, [alert_row(1)])

    result = run_export(con, syslog_sink(closed_port(), "tcp", "cef"), pacing=pacing)

    assert result.sink("siem").pending == 1
    status, attempts = con.execute("SELECT status, attempts FROM deliveries").fetchone()
    assert (status, attempts) == ("pending", 2)


def test_tcp_receiver_dying_unread_leaves_alerts_pending(con, pacing):
    """A receiver that accepts and dies without reading must not count as a delivery."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def accept_and_die() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            stop.wait(0.3)  # let the sender's bytes arrive, then close without reading
            connection.close()

    thread = threading.Thread(target=accept_and_die, daemon=True)
    thread.start()
    try:
        insert_alerts(con, [alert_row(0), alert_row(1)])
        result = run_export(con, syslog_sink(port, "tcp", "cef"), pacing=pacing)
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()

    assert result.sink("siem").sent == 0
    assert result.sink("siem").pending == 2
    statuses = con.execute("SELECT DISTINCT status FROM deliveries").fetchall()
    assert statuses == [("pending",)]
