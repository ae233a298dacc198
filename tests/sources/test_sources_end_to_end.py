"""Real CloudTrail samples and hand-written OTLP traces through the whole pipeline, without Kafka.

Mapped events go through the contract, a Parquet lake, the loader, the identity model and
every detection rule. Each test states what a reviewer of the sample expects to alert and
what must stay quiet. The delivery through Kafka is in test_import_cli.py.

`as_of` is passed where a rule needs time to pass after the last recorded event. A
credential can only be seen to outlive its task by 15 minutes once the evaluation time is
15 minutes past the task's end, and a one-file import ends with that task.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from detections.runner import run_detections
from pipelines.sources.otel import otel_events, read_otlp
from tests.helpers.lake import warehouse_from_events
from tests.sources.samples import (
    ADMIN_USER,
    BACKDOOR_ROLE,
    BEDROCK,
    FEDERATION,
    OTEL_TRACES,
    PASSWORD_DATA,
    S3_EXFILTRATION,
    STEAL_CREDENTIALS,
    map_files,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
# AWS managed policy names are one CamelCase word, so the default high-risk words (admin,
# write, ...) never match AdministratorAccess. A one-account import has no peer principals
# either. These are the AWS settings docs/sources.md recommends.
AWS_THRESHOLDS = {
    "privilege_creep": {
        "high_risk_scope_words": [
            "admin",
            "write",
            "delete",
            "export",
            "*",
            "administratoraccess",
            "iamfullaccess",
        ],
        "min_peers": 0,
    }
}


def _alerts(events, tmp_path: Path, *, as_of=None, thresholds=None) -> set[tuple[str, str]]:
    con = warehouse_from_events(events, tmp_path, now=NOW)
    try:
        run_detections(
            con, thresholds=thresholds or {}, suppressions=[], boundaries={}, as_of=as_of, now=NOW
        )
        return set(con.execute("SELECT rule_id, entity_id FROM alerts").fetchall())
    finally:
        con.close()


def _rules(alerts: set[tuple[str, str]]) -> set[str]:
    return {rule for rule, _ in alerts}


def _cloudtrail(path: Path):
    return map_files(path)[0]


def test_federation_token_outlives_one_second_task(tmp_path):
    alerts = _alerts(_cloudtrail(FEDERATION), tmp_path, as_of="2024-11-30T09:00:00Z")
    assert ("credential_outlives_task", "ASIASTJKC5GCM7ZE6LUP") in alerts


def test_federation_token_not_judged_before_linger_passed(tmp_path):
    # As of the last recorded event (one second after issue) the 15 minutes have not passed.
    alerts = _alerts(_cloudtrail(FEDERATION), tmp_path)
    assert "credential_outlives_task" not in _rules(alerts)


def test_federated_session_split_accountability(tmp_path):
    events = _cloudtrail(FEDERATION)
    session_task = next(e["task_id"] for e in events if e["event_type"] == "credential_issued")
    alerts = _alerts(events, tmp_path, as_of="2024-11-30T09:00:00Z")
    # The IAM user asked for the token, the session acts as federated user stratus_red_team.
    assert ("blended_identity", session_task) in alerts
    assert "secret_in_event" not in _rules(alerts)


def test_admin_user_key_and_policy_alert(tmp_path):
    alerts = _alerts(
        _cloudtrail(ADMIN_USER), tmp_path, as_of="2024-08-01T14:00:00Z", thresholds=AWS_THRESHOLDS
    )
    assert ("credential_outlives_task", "AKIAXAFZN8JEPF6L682H") in alerts
    assert ("privilege_creep", "arn:aws:iam::229654561268:user/malicious-iam-user") in alerts
    # The caller's own long-term key is a service account's and is not task-scoped.
    assert ("credential_outlives_task", "AKIAOZUDECYXYM4ONAN4") not in alerts


def test_backdoor_role_admin_attachment_alerts(tmp_path):
    # NOTE: the role carries the AWSDenyAll permissions boundary, which voids the grant;
    # privilege_creep does not read boundaries, so this alert is a known false positive.
    alerts = _alerts(
        _cloudtrail(BACKDOOR_ROLE),
        tmp_path,
        as_of="2024-08-01T14:00:00Z",
        thresholds=AWS_THRESHOLDS,
    )
    assert alerts == {
        ("privilege_creep", "arn:aws:iam::609418236337:role/stratus-red-team-malicious-iam-role")
    }


def test_denied_password_data_burst(tmp_path):
    alerts = _alerts(_cloudtrail(PASSWORD_DATA), tmp_path, as_of="2024-07-30T22:00:00Z")
    agent = "stratus-red-team-ec2-get-password-data-role/aws-go-sdk-1722375070115152000"
    assert ("policy_denial_burst", agent) in alerts
    # christophe's two AccessDenied AssumeRole calls are isolated denials.
    assert ("policy_denial_burst", "christophe") not in alerts
    # 900 seconds is the shortest session STS issues, and it expired within 15 minutes of
    # the task's end. The second session was never used, so its task never ended.
    assert "credential_outlives_task" not in _rules(alerts)


def test_instance_credential_reused_off_instance(tmp_path):
    alerts = _alerts(_cloudtrail(S3_EXFILTRATION), tmp_path, as_of="2020-09-14T02:00:00Z")
    assert ("credential_outlives_task", "ASIA5FLZVX4OPVKKVBMX") in alerts
    # The other four instance-profile keys were issued and never used in the capture.
    assert [entity for rule, entity in alerts if rule == "credential_outlives_task"] == [
        "ASIA5FLZVX4OPVKKVBMX"
    ]
    assert "secret_in_event" not in _rules(alerts)


def test_role_session_without_issue_not_standing(tmp_path):
    # The session's issue is outside the log; its expiry bound keeps it from looking standing.
    alerts = _alerts(_cloudtrail(STEAL_CREDENTIALS), tmp_path, as_of="2024-08-02T09:00:00Z")
    assert "credential_outlives_task" not in _rules(alerts)


def test_stolen_instance_credential_shares_operator_client(tmp_path):
    # The instance-profile session calls from the IAM user's own address and user agent.
    alerts = _alerts(_cloudtrail(STEAL_CREDENTIALS), tmp_path, as_of="2024-08-02T09:00:00Z")
    assert alerts == {("workload_credential_shared_client", "ASIAP5CT9NN8EYVU1FXV")}


def test_bedrock_session_quiet(tmp_path):
    alerts = _alerts(_cloudtrail(BEDROCK), tmp_path, thresholds=AWS_THRESHOLDS)
    assert alerts == set()


def test_otel_traces_alert_as_expected(tmp_path):
    events = list(otel_events(read_otlp([OTEL_TRACES])))
    alerts = _alerts(events, tmp_path)
    assert alerts == {
        # Delegated read of confidential CRM data, then a service-account write to billing.
        ("blended_identity", "4bf92f3577b34da6a3ce929d0e0e4736"),
        # The http.fetch span carried a bearer token in a header.
        ("secret_in_event", "dev_assistant"),
    }
