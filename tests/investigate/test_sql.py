"""`agentaudit sql`: output formats, the shell, lake views, errors and exit codes.

Covered here: one-shot queries in each format, the statement reader behind the shell,
read-only enforcement, and the error line and exit code for each failure. Concurrency with
a writer process is in test_reader_lock.py.
"""

from __future__ import annotations

import csv
import io
import json

from tests.investigate.conftest import run_agentaudit

COUNT_BY_AGENT = (
    "SELECT agent_id, count(*) AS events FROM decision_events GROUP BY agent_id ORDER BY agent_id"
)


def test_sql_json_rows(invoke):
    result = invoke("sql", "--format", "json", COUNT_BY_AGENT)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows == [
        {"agent_id": "agent-research-2", "events": 5},
        {"agent_id": "agent-support-1", "events": 10},
    ]


def test_sql_csv_header_and_rows(invoke):
    result = invoke("sql", "--format", "csv", COUNT_BY_AGENT)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["agent_id", "events"]
    assert rows[1:] == [["agent-research-2", "5"], ["agent-support-1", "10"]]


def test_sql_csv_lists_and_timestamps(invoke):
    query = "SELECT scopes, event_time FROM decision_events WHERE event_id = 'e-001'"
    result = invoke("sql", "--format", "csv", query)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[1] == ["crm.read, crm.write, billing.export", "2026-03-09T09:00:00Z"]


def test_sql_json_timestamps_are_utc_text(invoke):
    query = "SELECT event_time, scopes FROM decision_events WHERE event_id = 'e-001'"
    rows = json.loads(invoke("sql", "--format", "json", query).stdout)
    assert rows[0]["event_time"] == "2026-03-09T09:00:00Z"
    assert rows[0]["scopes"] == ["crm.read", "crm.write", "billing.export"]


def test_sql_table_shows_values(invoke):
    result = invoke("sql", COUNT_BY_AGENT)
    assert result.exit_code == 0
    assert "agent-support-1" in result.stdout
    assert "events" in result.stdout


def test_sql_lake_view_reads_parquet(invoke):
    query = (
        "SELECT event_date, count(*) AS events FROM lake_decisions "
        "GROUP BY event_date ORDER BY event_date"
    )
    result = invoke("sql", "--lake", "--format", "json", query)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"event_date": "2026-03-09", "events": 5},
        {"event_date": "2026-03-10", "events": 10},
    ]


def test_sql_lake_views_only_when_named(invoke):
    # Creating a lake view reads every lake file's schema, so plain queries skip it.
    query = "SELECT count(*) AS n FROM information_schema.tables WHERE table_catalog = 'temp'"
    assert json.loads(invoke("sql", "--format", "json", query).stdout) == [{"n": 0}]
    named = query + " AND table_name LIKE 'lake_%'"
    assert json.loads(invoke("sql", "--format", "json", named).stdout) == [{"n": 2}]


def test_sql_lake_mode_has_no_warehouse_tables(invoke):
    result = invoke("sql", "--lake", "SELECT count(*) FROM decision_events")
    assert result.exit_code == 1
    assert "decision_events" in result.stderr


def test_sql_lake_mode_without_warehouse(invoke, tmp_path):
    lake = tmp_path / "lake" / "decisions" / "event_date=2026-03-10"
    lake.mkdir(parents=True)
    result = invoke("sql", "--lake", "--format", "json", "SELECT 1 AS one", data_dir=tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"one": 1}]


def test_sql_rejects_writes(invoke):
    result = invoke("sql", "DELETE FROM decision_events")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "read-only" in result.stderr
    count = invoke("sql", "--format", "json", "SELECT count(*) AS n FROM decision_events")
    assert json.loads(count.stdout) == [{"n": 15}]


def test_sql_bad_query_one_line(invoke):
    result = invoke("sql", "SELEC 1")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: Parser Error")


def test_sql_missing_warehouse(invoke, tmp_path):
    result = invoke("sql", "SELECT 1", data_dir=tmp_path)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "no warehouse at" in result.stderr
    assert "--lake" in result.stderr


def test_sql_usage_errors_exit_2(invoke):
    assert invoke("sql", "--format", "xml", "SELECT 1").exit_code == 2
    assert invoke("sql", "--no-such-option").exit_code == 2
    assert invoke("sql", "   ").exit_code == 2


def test_sql_statement_without_result(invoke):
    result = invoke("sql", "SET threads = 1")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_shell_runs_statements_and_commands(invoke):
    script = "\n".join([
        ".tables",
        "SELECT count(*) AS n",
        "  FROM tasks;",
        ".schema credentials",
        ".quit",
        "SELECT 'after quit' AS never;",
    ])
    result = invoke("sql", "--format", "csv", stdin=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "decision_events,table" in out
    assert "lake_decisions,lake view" in out
    assert "access_map,view" in out
    assert "n\n3\n" in out
    assert "credential_id,VARCHAR" in out
    assert "after quit" not in out


def test_shell_reports_failures_and_goes_on(invoke):
    script = "SELECT nope;\n.bogus\n.schema\nSELECT 7 AS seven;\n"
    result = invoke("sql", "--format", "json", stdin=script)
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [{"seven": 7}]
    errors = result.stderr.splitlines()
    assert len(errors) == 3
    assert all(line.startswith("error: ") for line in errors)


def test_shell_runs_trailing_statement(invoke):
    result = invoke("sql", "--format", "csv", stdin="SELECT 1 AS a;\nSELECT 2 AS b")
    assert result.exit_code == 0
    assert result.stdout == "a\n1\nb\n2\n"


def test_sql_dash_reads_query_from_stdin(invoke):
    result = invoke("sql", "--format", "csv", "-", stdin="SELECT 5 AS five")
    assert result.stdout == "five\n5\n"


def test_installed_script_exit_codes(fleet_dir):
    bad = run_agentaudit("sql", "SELECT FROM WHERE", data_dir=fleet_dir)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: ")
    usage = run_agentaudit("sql", "--format", "yaml", "SELECT 1", data_dir=fleet_dir)
    assert usage.returncode == 2
