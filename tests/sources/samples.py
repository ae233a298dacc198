"""Paths of the real sample files and a helper that maps one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.sources.cloudtrail import ImportStats, cloudtrail_events, read_cloudtrail
from pipelines.sources.common import Rejected

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLES = DATA / "samples"
STRATUS = SAMPLES / "stratus-red-team"
OTRF = SAMPLES / "otrf-security-datasets"
OTEL_TRACES = DATA / "otel" / "genai_traces.json"

FEDERATION = STRATUS / "aws.persistence.sts-federation-token.json"
ADMIN_USER = STRATUS / "aws.persistence.iam-create-admin-user.json"
BACKDOOR_ROLE = STRATUS / "aws.persistence.iam-create-backdoor-role.json"
PASSWORD_DATA = STRATUS / "aws.credential-access.ec2-get-password-data.json"
STEAL_CREDENTIALS = STRATUS / "aws.credential-access.ec2-steal-instance-credentials.json"
BEDROCK = STRATUS / "aws.impact.bedrock-invoke-model.json"
S3_EXFILTRATION = OTRF / "ec2_proxy_s3_exfiltration_2020-09-14011940.json"
ENTRA_AUDIT = OTRF / "AADAuditEvents.json"


def map_files(*paths: Path) -> tuple[list[dict[str, Any]], ImportStats, list[Rejected]]:
    """Map CloudTrail files together; return the events, the counts and the rejected records."""
    stats = ImportStats()
    rejected: list[Rejected] = []
    events = list(cloudtrail_events(read_cloudtrail(paths), on_reject=rejected.append, stats=stats))
    return events, stats, rejected


def by_id(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {event["event_id"]: event for event in events}
