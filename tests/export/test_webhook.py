"""Generic JSON webhook sink: one POST per alert with an HMAC-SHA256 signature."""

from __future__ import annotations

import hashlib
import hmac
import json

from detections.export import run_export

from .alert_rows import alert_row, insert_alerts

SECRET = "webhook-secret-for-tests"


def webhook_sink(url: str) -> dict:
    return {
        "hook": {
            "type": "webhook",
            "enabled": True,
            "url": url + "/hooks/agentaudit",
            "hmac_secret_env": "AGENTAUDIT_TEST_WEBHOOK_SECRET",
            "headers": {"X-Tenant": "blue"},
            "retry": {"max_attempts": 2, "initial_backoff_seconds": 0},
        }
    }


def test_webhook_posts_signed_alerts(con, http_server, pacing):
    rows = [alert_row(n) for n in range(3)]
    insert_alerts(con, rows)
    environ = {"AGENTAUDIT_TEST_WEBHOOK_SECRET": SECRET}

    result = run_export(con, webhook_sink(http_server.url), environ=environ, pacing=pacing)

    assert result.sink("hook").sent == 3
    requests = http_server.accepted("/hooks/agentaudit")
    assert len(requests) == 3
    for request in requests:
        timestamp, signature = dict(
            part.split("=", 1) for part in request.headers["x-agentaudit-signature"].split(",")
        ).values()
        signed = timestamp.encode() + b"." + request.body
        expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(signature, expected)
        assert request.headers["x-tenant"] == "blue"
        assert SECRET not in request.body.decode()
    documents = [json.loads(request.body) for request in requests]
    assert {d["alert_id"] for d in documents} == {row["alert_id"] for row in rows}
    assert all(d["action"] == "create" for d in documents)


def test_webhook_4xx_fails_without_retry(con, http_server, pacing):
    http_server.script.append(("status", 422))
    insert_alerts(con, [alert_row(1)])
    environ = {"AGENTAUDIT_TEST_WEBHOOK_SECRET": SECRET}

    result = run_export(con, webhook_sink(http_server.url), environ=environ, pacing=pacing)

    assert result.sink("hook").failed == 1
    assert len(http_server.requests) == 1
    assert "HTTP 422" in con.execute("SELECT last_error FROM deliveries").fetchone()[0]
