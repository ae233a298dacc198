"""Splunk HEC sink against a real HTTP server on 127.0.0.1: batching, token handling,
indexer acknowledgement, retries on 5xx, timeouts and dropped connections, permanent 4xx
failures, and an outage after which every alert arrives exactly once."""

from __future__ import annotations

import json
import logging
import shutil
import ssl
from collections import Counter

import pytest

from detections.export import run_export

from .alert_rows import alert_row, changed, insert_alerts
from .listeners import RecordingHttpServer, closed_port, self_signed_certificate

TOKEN = "hec-token-0d6c1f8e-test"
TOKEN_ENV = {"AGENTAUDIT_TEST_HEC_TOKEN": TOKEN}


def hec_sink(url: str, **options) -> dict:
    sink = {
        "type": "splunk_hec",
        "enabled": True,
        "url": url,
        "token_env": "AGENTAUDIT_TEST_HEC_TOKEN",
        "index": "agentaudit",
        "batch_size": 2,
        "timeout_seconds": 2,
        "retry": {"max_attempts": 3, "initial_backoff_seconds": 0.01},
    }
    sink.update(options)
    return {"splunk": sink}


def events_of(request) -> list[dict]:
    decoder = json.JSONDecoder()
    text = request.body.decode()
    events, position = [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        event, position = decoder.raw_decode(text, position)
        events.append(event)
    return events


def delivered_ids(server) -> Counter:
    return Counter(
        event["event"]["alert_id"]
        for request in server.accepted("/services/collector/event")
        for event in events_of(request)
    )


def test_hec_batches_events_with_token(con, http_server, pacing):
    rows = [alert_row(n) for n in range(5)]
    insert_alerts(con, rows)

    result = run_export(con, hec_sink(http_server.url), environ=TOKEN_ENV, pacing=pacing)

    assert result.sink("splunk").sent == 5
    requests = http_server.accepted("/services/collector/event")
    assert [len(events_of(request)) for request in requests] == [2, 2, 1]
    for request in requests:
        assert request.headers["authorization"] == f"Splunk {TOKEN}"
        assert request.headers["x-splunk-request-channel"]
    event = events_of(requests[0])[0]
    assert event["index"] == "agentaudit"
    assert event["sourcetype"] == "agentaudit:alert"
    assert event["event"]["action"] == "create"
    assert isinstance(event["time"], float)
    assert set(delivered_ids(http_server)) == {row["alert_id"] for row in rows}


def test_hec_ack_polls_until_acknowledged(con, http_server, pacing):
    http_server.ack_enabled = True
    http_server.acks_after_polls = 2
    insert_alerts(con, [alert_row(n) for n in range(3)])
    sinks = hec_sink(http_server.url, ack=True, ack_poll_seconds=0.01, ack_timeout_seconds=10)

    result = run_export(con, sinks, environ=TOKEN_ENV, pacing=pacing)

    assert result.sink("splunk").sent == 3
    # Two batches; each ack turns true on its third poll.
    assert http_server.ack_requests == 6
    channel = http_server.accepted()[0].headers["x-splunk-request-channel"]
    assert all(r.headers["x-splunk-request-channel"] == channel for r in http_server.accepted())


def test_hec_ack_timeout_leaves_pending(con, http_server, pacing):
    http_server.ack_enabled = True
    http_server.acks_after_polls = 10**6
    insert_alerts(con, [alert_row(1)])
    sinks = hec_sink(
        http_server.url, ack=True, ack_poll_seconds=0.01, ack_timeout_seconds=0.05,
        retry={"max_attempts": 2, "initial_backoff_seconds": 0},
    )  # fmt: skip

    result = run_export(con, sinks, environ=TOKEN_ENV, pacing=pacing)

    assert result.sink("splunk").pending == 1
    status, error = con.execute("SELECT status, last_error FROM deliveries").fetchone()
    assert status == "pending"
    assert "ack" in error


def test_hec_retries_5xx_then_succeeds(con, http_server, pacing):
    http_server.script.extend([("status", 503), ("status", 500)])
    insert_alerts(con, [alert_row(1)])

    result = run_export(con, hec_sink(http_server.url), environ=TOKEN_ENV, pacing=pacing)

    sink = result.sink("splunk")
    assert sink.sent == 1
    assert sink.retried == 1
    assert len(http_server.requests) == 3
    assert con.execute("SELECT attempts, status FROM deliveries").fetchone() == (3, "sent")


def test_hec_retries_timeout_and_dropped_connection(con, http_server, pacing):
    http_server.script.extend([("slow", 1.0), ("drop",)])
    insert_alerts(con, [alert_row(1)])
    sinks = hec_sink(http_server.url, timeout_seconds=0.3)

    result = run_export(con, sinks, environ=TOKEN_ENV, pacing=pacing)

    assert result.sink("splunk").sent == 1
    assert result.sink("splunk").retried == 1
    assert delivered_ids(http_server) == Counter({alert_row(1)["alert_id"]: 1})


def test_hec_refused_connection_stays_pending(con, pacing):
    insert_alerts(con, [alert_row(1), alert_row(2)])
    url = f"http://127.0.0.1:{closed_port()}"

    result = run_export(con, hec_sink(url), environ=TOKEN_ENV, pacing=pacing)

    assert result.sink("splunk").pending == 2
    assert not result.ok
    rows = con.execute("SELECT status, attempts, sent_at FROM deliveries").fetchall()
    assert rows == [("pending", 3, None), ("pending", 3, None)]
    # One batch of two alerts: two backoff waits between three attempts.
    assert len(pacing.delays) == 2
    assert max(pacing.delays) <= 0.02  # full jitter stays under initial * 2**(n-1)


def test_hec_400_is_recorded_and_held(con, http_server, pacing, caplog):
    http_server.script.append(("status", 400))
    row = alert_row(1)
    insert_alerts(con, [row])
    sinks = hec_sink(http_server.url)

    with caplog.at_level(logging.DEBUG):
        first = run_export(con, sinks, environ=TOKEN_ENV, pacing=pacing)
    second = run_export(con, sinks, environ=TOKEN_ENV, pacing=pacing)

    assert first.sink("splunk").failed == 1
    assert len(http_server.requests) == 1
    assert second.sink("splunk").held_failed == 1
    assert not second.ok
    status, attempts, error = con.execute(
        "SELECT status, attempts, last_error FROM deliveries"
    ).fetchone()
    assert status == "failed"
    assert attempts == 1
    assert "HTTP 400" in error
    assert TOKEN not in error
    assert TOKEN not in caplog.text

    insert_alerts(con, [changed(row, "same credential, new evidence")])
    third = run_export(con, sinks, environ=TOKEN_ENV, pacing=pacing)
    assert third.sink("splunk").sent == 1  # never sent before, so still a create


def test_hec_rejected_batch_isolates_bad_alert(con, http_server, pacing):
    poison = alert_row(2, explanation="poison record the receiver rejects")
    rows = [alert_row(1), poison, alert_row(3), alert_row(4)]
    insert_alerts(con, rows)
    http_server.reject = lambda body: b"poison record" in body
    sinks = hec_sink(http_server.url, batch_size=4)

    result = run_export(con, sinks, environ=TOKEN_ENV, pacing=pacing)

    assert result.sink("splunk").sent == 3
    assert result.sink("splunk").failed == 1
    failed = con.execute("SELECT alert_id FROM deliveries WHERE status = 'failed'").fetchall()
    assert failed == [(poison["alert_id"],)]


def test_hec_update_is_resent_once(con, http_server, pacing):
    rows = [alert_row(1), alert_row(2)]
    insert_alerts(con, rows)
    sinks = hec_sink(http_server.url)
    run_export(con, sinks, environ=TOKEN_ENV, pacing=pacing)

    insert_alerts(con, [changed(rows[0], "credential reused by a second task")])
    result = run_export(con, sinks, environ=TOKEN_ENV, pacing=pacing)

    assert result.sink("splunk").updated == 1
    last = events_of(http_server.accepted()[-1])
    assert [event["event"]["action"] for event in last] == ["update"]
    assert last[0]["event"]["alert_id"] == rows[0]["alert_id"]


def test_hec_missing_token_variable(con, http_server, pacing):
    insert_alerts(con, [alert_row(1)])

    result = run_export(con, hec_sink(http_server.url), environ={}, pacing=pacing)

    sink = result.sink("splunk")
    assert "AGENTAUDIT_TEST_HEC_TOKEN" in sink.error
    assert sink.pending == 1
    assert http_server.requests == []
    assert con.execute("SELECT status FROM deliveries").fetchone() == ("pending",)


def test_hec_outage_delivers_each_alert_once(con, http_server, pacing):
    rows = [alert_row(n) for n in range(7)]
    insert_alerts(con, rows)
    # The receiver fails the next 8 requests with a mix of 5xx, drops and timeouts, then
    # recovers. With 3 attempts per batch the first runs leave alerts pending.
    http_server.script.extend(
        [("status", 503), ("drop",), ("status", 500), ("status", 502), ("slow", 0.6),
         ("status", 503), ("drop",), ("status", 500)]
    )  # fmt: skip
    sinks = hec_sink(http_server.url, timeout_seconds=0.3)

    results = [run_export(con, sinks, environ=TOKEN_ENV, pacing=pacing) for _ in range(6)]

    assert results[0].sink("splunk").pending > 0
    assert results[-1].sink("splunk").pending == 0
    counts = delivered_ids(http_server)
    assert set(counts) == {row["alert_id"] for row in rows}
    assert set(counts.values()) == {1}
    statuses = con.execute("SELECT DISTINCT status FROM deliveries").fetchall()
    assert statuses == [("sent",)]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_hec_over_tls_verifies_certificate(con, tmp_path, pacing):
    cert, key = self_signed_certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = RecordingHttpServer(tls=tls).start()
    try:
        insert_alerts(con, [alert_row(1)])
        untrusted = hec_sink(server.url, retry={"max_attempts": 1})
        trusted = hec_sink(server.url, ca_file=str(cert))

        rejected = run_export(con, untrusted, environ=TOKEN_ENV, pacing=pacing)
        rejected_error = con.execute("SELECT last_error FROM deliveries").fetchone()[0]
        accepted = run_export(con, trusted, environ=TOKEN_ENV, pacing=pacing)
    finally:
        server.stop()

    assert rejected.sink("splunk").pending == 1
    assert "certificate verify failed" in rejected_error
    assert accepted.sink("splunk").sent == 1
    assert len(server.accepted()) == 1
