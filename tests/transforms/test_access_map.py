"""access_map lists who can write to a system, from grants and observed use.

Covers the question an IAM reviewer asks most. The column-level behaviour is in the
golden cases (golden/access_map.yaml).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers.lake import warehouse_from_events

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
WRITERS_OF_SYSTEM = """
    SELECT DISTINCT agent_id
    FROM access_map
    WHERE system = ? AND list_contains(actions, 'write')
    ORDER BY agent_id
"""


def event(n: int, event_type: str, agent_id: str, **fields) -> dict:
    return {
        "event_id": f"evt-{n:03d}",
        "schema_version": "1",
        "event_time": T0 + timedelta(hours=n),
        "event_type": event_type,
        "agent_id": agent_id,
        "agent_kind": agent_id.rsplit("-", 1)[0],
        "principal_id": f"sa:{agent_id}",
        "principal_type": "service_account",
        **fields,
    }


@pytest.fixture
def con(tmp_path):
    events = [
        # Holds crm.write and writes to the CRM with it.
        event(1, "grant_added", "support_bot-01", scopes=["crm.read", "crm.write"]),
        event(
            2,
            "tool_invoked",
            "support_bot-01",
            scopes=["crm.write"],
            system="crm",
            action="write",
            credential_id="key-01",
        ),
        # Holds crm.write but has not used it yet: it still can write.
        event(3, "grant_added", "support_bot-03", scopes=["crm.write"]),
        # Reads the CRM only.
        event(4, "grant_added", "support_bot-02", scopes=["crm.read"]),
        event(
            5, "tool_invoked", "support_bot-02", scopes=["crm.read"], system="crm", action="read"
        ),
        # Lost crm.write before the end of the record.
        event(6, "grant_added", "research_assistant-01", scopes=["crm.write"]),
        event(7, "grant_removed", "research_assistant-01", scopes=["crm.write"]),
        # Writes to another system.
        event(8, "grant_added", "dev_assistant-01", scopes=["repo.write"]),
        event(
            9,
            "tool_invoked",
            "dev_assistant-01",
            scopes=["repo.write"],
            system="github",
            action="write",
        ),
    ]
    connection = warehouse_from_events(events, tmp_path)
    yield connection
    connection.close()


def test_writers_of_crm_are_current_holders(con):
    writers = [row[0] for row in con.execute(WRITERS_OF_SYSTEM, ["crm"]).fetchall()]
    assert writers == ["support_bot-01", "support_bot-03"]


def test_writers_of_github(con):
    writers = [row[0] for row in con.execute(WRITERS_OF_SYSTEM, ["github"]).fetchall()]
    assert writers == ["dev_assistant-01"]


def test_access_map_names_credential_and_time_held(con):
    row = con.execute(
        "SELECT credential_id, granted_at, held_for, last_used_at FROM access_map "
        "WHERE agent_id = 'support_bot-01' AND scope = 'crm.write'"
    ).fetchone()
    assert row[0] == "key-01"
    assert row[1] == T0 + timedelta(hours=1)
    assert row[2] == timedelta(hours=8)
    assert row[3] == T0 + timedelta(hours=2)


def test_removed_grant_is_not_in_access_map(con):
    count = con.execute(
        "SELECT count(*) FROM access_map WHERE agent_id = 'research_assistant-01'"
    ).fetchone()[0]
    assert count == 0
