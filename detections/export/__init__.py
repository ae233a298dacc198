"""Alert export to SIEMs: OCSF and ECS NDJSON files, Splunk HEC, syslog (CEF, LEEF), webhooks.

`run_export` sends each stable, unsuppressed alert once per sink and records every
delivery in the `deliveries` table.
"""

from detections.export.config import resolve_paths
from detections.export.errors import ExportConfigError
from detections.export.ledger import ensure_tables
from detections.export.result import ExportResult, PreviewRecord, SinkResult
from detections.export.run import run_export

__all__ = [
    "ExportConfigError",
    "ExportResult",
    "PreviewRecord",
    "SinkResult",
    "ensure_tables",
    "resolve_paths",
    "run_export",
]
