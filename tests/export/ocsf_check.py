"""The attributes OCSF 1.3 requires of a Detection Finding (class 2004), with their types.

Required at the top level: activity_id, category_uid, class_uid, type_uid, severity_id,
time, metadata and finding_info. metadata requires product and version. The product
object needs a name in newer schemas and a vendor_name in earlier 1.x ones, so both are
checked. finding_info requires uid, and title was required before it became recommended,
so both are checked too.
"""

from __future__ import annotations

import re
from typing import Any

SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def ocsf_problems(finding: dict[str, Any]) -> list[str]:
    """Return every way `finding` breaks the Detection Finding requirements; empty when valid."""
    problems: list[str] = []

    def expect(path: str, value: Any, kind: type | tuple[type, ...]) -> None:
        if isinstance(value, bool) or not isinstance(value, kind):
            problems.append(f"{path} must be {kind}, got {value!r}")

    for key in ("activity_id", "category_uid", "class_uid", "type_uid", "severity_id", "time"):
        expect(key, finding.get(key), int)
    if problems:
        return problems
    if finding["class_uid"] != 2004:
        problems.append(f"class_uid must be 2004, got {finding['class_uid']}")
    if finding["category_uid"] != 2:
        problems.append(f"category_uid must be 2, got {finding['category_uid']}")
    if finding["activity_id"] not in (1, 2, 3, 99):
        problems.append(f"activity_id {finding['activity_id']} is not a Finding activity")
    if finding["type_uid"] != finding["class_uid"] * 100 + finding["activity_id"]:
        problems.append("type_uid must equal class_uid * 100 + activity_id")
    if finding["severity_id"] not in (0, 1, 2, 3, 4, 5, 6, 99):
        problems.append(f"severity_id {finding['severity_id']} is not an OCSF severity")
    if finding["time"] < 10**12:
        problems.append("time must be epoch milliseconds")

    metadata = finding.get("metadata")
    expect("metadata", metadata, dict)
    if isinstance(metadata, dict):
        expect("metadata.version", metadata.get("version"), str)
        if isinstance(metadata.get("version"), str) and not SEMVER.match(metadata["version"]):
            problems.append("metadata.version must be a semantic version")
        product = metadata.get("product")
        expect("metadata.product", product, dict)
        if isinstance(product, dict):
            expect("metadata.product.name", product.get("name"), str)
            expect("metadata.product.vendor_name", product.get("vendor_name"), str)

    info = finding.get("finding_info")
    expect("finding_info", info, dict)
    if isinstance(info, dict):
        expect("finding_info.uid", info.get("uid"), str)
        expect("finding_info.title", info.get("title"), str)
        for key in ("created_time", "modified_time", "first_seen_time", "last_seen_time"):
            if key in info:
                expect(f"finding_info.{key}", info[key], int)
        for attack in info.get("attacks", []):
            expect("finding_info.attacks[].technique.uid", attack["technique"].get("uid"), str)

    for key in ("status_id", "start_time", "end_time"):
        if key in finding:
            expect(key, finding[key], int)
    if "is_alert" in finding and not isinstance(finding["is_alert"], bool):
        problems.append("is_alert must be a boolean")
    for key in ("activity_name", "category_name", "class_name", "type_name", "severity", "status"):
        if key in finding:
            expect(key, finding[key], str)
    return problems
