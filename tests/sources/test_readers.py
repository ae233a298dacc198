"""File formats the importers read: JSON array, Records object, NDJSON, gzip of each."""

from __future__ import annotations

import gzip
import json

import pytest

from pipelines.sources.common import Rejected
from pipelines.sources.readers import iter_json_values
from tests.sources.samples import FEDERATION, S3_EXFILTRATION, map_files


@pytest.fixture
def federation_records():
    return json.loads(FEDERATION.read_text())


def _write(path, text: str, *, compress: bool = False):
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("layout", ["array", "records-object", "ndjson"])
def test_layouts_give_same_events(tmp_path, federation_records, layout, compress):
    if layout == "array":
        text = json.dumps(federation_records)
    elif layout == "records-object":
        text = json.dumps({"Records": federation_records})
    else:
        text = "\n".join(json.dumps(record) for record in federation_records) + "\n"
    path = _write(tmp_path / f"trail.{layout}", text, compress=compress)
    expected, _, _ = map_files(FEDERATION)
    events, stats, rejected = map_files(path)
    assert rejected == []
    assert stats.records_read == 2
    assert events == expected


def test_gzipped_logstash_ndjson(tmp_path):
    path = tmp_path / "exfiltration.json.gz"
    path.write_bytes(gzip.compress(S3_EXFILTRATION.read_bytes()))
    events, stats, _ = map_files(path)
    assert stats.records_mapped == 103
    assert len(events) == 118


def test_single_record_object(tmp_path, federation_records):
    path = _write(tmp_path / "one.json", json.dumps(federation_records[1]))
    events, stats, _ = map_files(path)
    assert stats.records_read == 1
    assert [e["event_type"] for e in events] == ["task_started", "tool_invoked", "task_completed"]


def test_invalid_ndjson_line_rejected(tmp_path, federation_records):
    lines = [
        json.dumps(federation_records[0]),
        "{not json",
        "",
        json.dumps(federation_records[1]),
        "[1, 2]",
    ]
    path = _write(tmp_path / "broken.ndjson", "\n".join(lines))
    events, stats, rejected = map_files(path)
    assert stats.records_mapped == 2
    assert [item.origin for item in rejected] == [f"{path}:2", f"{path}:5[0]", f"{path}:5[1]"]
    assert rejected[0].reason.startswith("invalid JSON: ")
    assert rejected[0].raw == b"{not json"
    assert rejected[1].reason == "record is a JSON int, expected an object"


def test_empty_file_yields_nothing(tmp_path):
    path = _write(tmp_path / "empty.json", "  \n")
    assert list(iter_json_values(path)) == []


def test_empty_records_object(tmp_path):
    path = _write(tmp_path / "digest.json", json.dumps({"Records": []}))
    events, stats, rejected = map_files(path)
    assert (events, stats.records_read, rejected) == ([], 0, [])


def test_non_utf8_file_rejected(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"eventName": "caf\u00e9"}'.encode("latin-1"))
    values = list(iter_json_values(path))
    assert len(values) == 1
    assert isinstance(values[0][1], Rejected)
    assert values[0][1].reason.startswith("file is not valid UTF-8")


def test_truncated_gzip_raises_clear_error(tmp_path):
    path = tmp_path / "cut.json.gz"
    path.write_bytes(gzip.compress(b'[{"a": 1}]' * 100)[:20])
    with pytest.raises(ValueError, match="invalid gzip data"):
        list(iter_json_values(path))
