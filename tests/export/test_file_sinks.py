"""OCSF and ECS NDJSON file sinks: content, OCSF requirements, updates, ledger, dry run.

Not covered here: the fsync itself (a crash between write and ledger record is only
described in docs/siem-export.md, where it means the line may be written twice).
"""

from __future__ import annotations

import json

from detections.export import run_export

from .alert_rows import alert_row, changed, insert_alerts
from .ocsf_check import ocsf_problems


def file_sinks(tmp_path) -> dict:
    return {
        "ocsf": {"type": "ocsf_file", "path": str(tmp_path / "out" / "ocsf.ndjson")},
        "ecs": {"type": "ecs_bulk_file", "path": str(tmp_path / "out" / "ecs.ndjson"),
                "index": "agentaudit-test"},
    }  # fmt: skip


def read_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_ocsf_file_lines_meet_requirements(con, tmp_path):
    rows = [alert_row(n) for n in range(4)]
    rows.append(alert_row(9, mitre_technique=None, details={"mitre_technique": "T1078.004"}))
    insert_alerts(con, rows)

    result = run_export(con, file_sinks(tmp_path), sink_names=["ocsf"])

    findings = read_lines(tmp_path / "out" / "ocsf.ndjson")
    assert result.sink("ocsf").sent == 5
    assert len(findings) == 5
    for finding in findings:
        assert ocsf_problems(finding) == [], finding
        assert finding["activity_id"] == 1
        assert finding["type_uid"] == 200401
    by_uid = {finding["finding_info"]["uid"]: finding for finding in findings}
    assert set(by_uid) == {row["alert_id"] for row in rows}
    first = by_uid[rows[0]["alert_id"]]
    assert first["finding_info"]["title"] == rows[0]["rule_title"]
    assert first["finding_info"]["analytic"]["uid"] == "credential_outlives_task"
    assert first["severity_id"] == 4
    assert first["message"] == rows[0]["explanation"]
    assert first["evidences"][0]["data"]["event_ids"] == rows[0]["evidence_event_ids"]
    technique = by_uid[rows[4]["alert_id"]]["finding_info"]["attacks"][0]["technique"]
    assert technique["uid"] == "T1078.004"


def test_ecs_bulk_lines_pair_action_and_document(con, tmp_path):
    rows = [alert_row(n) for n in range(3)]
    insert_alerts(con, rows)

    run_export(con, file_sinks(tmp_path), sink_names=["ecs"])

    rows.sort(key=lambda row: row["alert_id"])  # the export goes in alert_id order
    lines = read_lines(tmp_path / "out" / "ecs.ndjson")
    assert len(lines) == 6
    actions, documents = lines[0::2], lines[1::2]
    for row, action, document in zip(rows, actions, documents, strict=True):
        assert action == {"index": {"_index": "agentaudit-test", "_id": row["alert_id"]}}
        assert document["ecs"]["version"].startswith("8.")
        assert document["event"]["kind"] == "alert"
        assert document["event"]["category"] == ["iam"]
        assert document["event"]["id"] == row["alert_id"]
        assert document["rule"]["id"] == row["rule_id"]
        assert document["rule"]["name"] == row["rule_title"]
        assert document["@timestamp"].endswith("Z")
        assert document["agentaudit"]["entity"] == {"type": "credential", "id": row["entity_id"]}


def test_rerun_sends_nothing_twice(con, tmp_path):
    insert_alerts(con, [alert_row(n) for n in range(3)])
    sinks = file_sinks(tmp_path)

    first = run_export(con, sinks)
    second = run_export(con, sinks)

    assert first.sink("ocsf").sent == 3
    assert first.sink("ecs").sent == 3
    assert second.sink("ocsf").sent == 0
    assert second.sink("ocsf").unchanged == 3
    assert len(read_lines(tmp_path / "out" / "ocsf.ndjson")) == 3
    assert len(read_lines(tmp_path / "out" / "ecs.ndjson")) == 6
    statuses = con.execute("SELECT sink, status, count(*) FROM deliveries GROUP BY ALL").fetchall()
    assert sorted(statuses) == [("ecs", "sent", 3), ("ocsf", "sent", 3)]


def test_changed_alert_is_sent_as_update(con, tmp_path):
    rows = [alert_row(n) for n in range(2)]
    insert_alerts(con, rows)
    sinks = file_sinks(tmp_path)
    run_export(con, sinks)

    insert_alerts(con, [changed(rows[1], "credential cred-0001 now used 3 hours after its task")])
    result = run_export(con, sinks)

    assert result.sink("ocsf").updated == 1
    assert result.sink("ocsf").sent == 0
    findings = read_lines(tmp_path / "out" / "ocsf.ndjson")
    assert len(findings) == 3
    update = findings[-1]
    assert update["activity_id"] == 2
    assert update["type_uid"] == 200402
    assert update["finding_info"]["uid"] == rows[1]["alert_id"]
    assert "3 hours" in update["message"]
    ecs_lines = read_lines(tmp_path / "out" / "ecs.ndjson")
    assert ecs_lines[-2]["index"]["_id"] == rows[1]["alert_id"]
    assert ecs_lines[-1]["agentaudit"]["export_action"] == "update"
    ledger_hash = con.execute(
        "SELECT content_hash FROM deliveries WHERE alert_id = ? AND sink = 'ocsf'",
        [rows[1]["alert_id"]],
    ).fetchone()[0]
    assert ledger_hash != rows[1]["content_hash"]


def test_experimental_and_suppressed_not_exported(con, tmp_path):
    stable = alert_row(1)
    experimental = alert_row(2, rule_status="experimental")
    suppressed = alert_row(3, suppressed_by="sup-ops-rotation")
    insert_alerts(con, [stable, experimental, suppressed])

    result = run_export(con, file_sinks(tmp_path), sink_names=["ocsf"])

    findings = read_lines(tmp_path / "out" / "ocsf.ndjson")
    assert result.alerts_considered == 1
    assert [f["finding_info"]["uid"] for f in findings] == [stable["alert_id"]]


def test_dry_run_touches_nothing(con, tmp_path):
    insert_alerts(con, [alert_row(n) for n in range(2)])

    result = run_export(con, file_sinks(tmp_path), dry_run=True)

    assert not (tmp_path / "out").exists()
    tables = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert ("deliveries",) not in tables
    preview = result.sink("ocsf").preview
    assert len(preview) == 2
    assert {record.action for record in preview} == {"create"}
    assert json.loads(preview[0].payload)["class_uid"] == 2004
    assert len(result.sink("ecs").preview) == 2


def test_unwritable_path_stays_pending(con, tmp_path):
    insert_alerts(con, [alert_row(1)])
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the sink expects a folder")
    sinks = {"ocsf": {"type": "ocsf_file", "path": str(blocker / "ocsf.ndjson"),
                      "retry": {"max_attempts": 2, "initial_backoff_seconds": 0}}}  # fmt: skip

    result = run_export(con, sinks)

    assert result.sink("ocsf").pending == 1
    status, attempts, error = con.execute(
        "SELECT status, attempts, last_error FROM deliveries"
    ).fetchone()
    assert status == "pending"
    assert attempts == 2
    assert "not-a-folder" in error
