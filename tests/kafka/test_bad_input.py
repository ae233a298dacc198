"""Bad input on the decision topic: each kind is quarantined with a reason or normalised.

All cases go to one single-partition topic and one ingest run (module fixture), so each
case's offset is its position in CASES. Covers decoding, contract validation, duplicates,
ordering, Unicode normalisation and typed all-null columns. Replay is in test_quarantine.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from pipelines.kafka.ingest import run_ingest
from pipelines.kafka.producer import encode_event, ensure_topic, produce_raw
from tests.kafka.events import make_event
from tests.kafka.lake import lake_rows, quarantine_rows, settings_for
from transforms.contract import EVENT_SCHEMA

pytestmark = pytest.mark.integration

FUTURE = (datetime.now(UTC) + timedelta(days=3)).isoformat()
EPOCH_MS = int(datetime(2026, 3, 2, 12, 30, tzinfo=UTC).timestamp() * 1000)


def _event(number: int, **fields) -> bytes:
    return encode_event(make_event(number, **fields))


def _without(number: int, name: str) -> bytes:
    event = make_event(number)
    del event[name]
    return encode_event(event)


# (case name, message value). Offsets in the topic follow this order.
CASES: list[tuple[str, bytes | None]] = [
    ("good_before", _event(1)),
    ("invalid_json", b'{"event_id": "x1", '),
    ("not_utf8", b'{"event_id": "\xff\xfe"}'),
    ("oversized", _event(2, reason="x" * 1_100_000)),
    ("missing_event_type", _without(3, "event_type")),
    ("wrong_type_step", _event(4, step="three")),
    ("unknown_event_type", _event(5, event_type="tool_exploded")),
    ("naive_timestamp", _event(6, event_time="2026-03-01T10:00:00")),
    ("epoch_millis", _event(7, event_time=EPOCH_MS)),
    ("far_future", _event(8, event_time=FUTURE)),
    ("duplicate_same_1", _event(9)),
    ("duplicate_same_2", _event(9)),
    ("duplicate_diff_1", _event(10, outcome="success")),
    ("duplicate_diff_2", _event(10, outcome="failure")),
    ("out_of_order_late", _event(11, event_time="2026-03-05T00:00:00Z")),
    ("out_of_order_early", _event(12, event_time="2026-03-01T00:00:00Z")),
    ("empty", b""),
    ("tombstone", None),
    ("whitespace_only", b"  \n\t "),
    ("duplicate_key", b'{"event_id": "ev-dup-key", "event_id": "ev-other"}'),
    ("blank_agent_id", _event(13, agent_id="   ")),
    ("blank_optional_task", _event(14, task_id="  \t")),
    ("padded_identity", _event(15, principal_id="  sa:support_bot  ")),
    ("nfc_composed", _event(16, agent_id="caf\u00e9-bot")),
    ("nfd_decomposed", _event(17, agent_id="cafe\u0301-bot")),
    ("json_array", b'[{"event_id": "ev-in-array"}]'),
    ("missing_agent_id", _without(18, "agent_id")),
    ("good_after", _event(19)),
]
OFFSETS = {name: offset for offset, (name, _) in enumerate(CASES)}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, kafka_bootstrap):
    """Produce every case to a fresh one-partition topic and ingest it once."""
    data_dir = tmp_path_factory.mktemp("bad-input")
    topic = f"test.bad-input.{datetime.now(UTC):%H%M%S%f}"
    settings = settings_for(data_dir, topic)
    ensure_topic(settings, topic, partitions=1)
    produce_raw(settings, [value for _, value in CASES], keys=[b"k"] * len(CASES), topic=topic)
    stats = run_ingest(settings)
    quarantined = {row["source_offset"]: row for row in quarantine_rows(settings)}
    stored = lake_rows(settings)
    return settings, stats, quarantined, stored


def _quarantined(ingested, case: str) -> dict:
    quarantined = ingested[2]
    assert OFFSETS[case] in quarantined, f"{case} was not quarantined"
    return quarantined[OFFSETS[case]]


def _stored(ingested, case: str) -> list[dict]:
    return [row for row in ingested[3] if row["source_offset"] == OFFSETS[case]]


QUARANTINE_EXPECTED = [
    ("invalid_json", "invalid JSON", None),
    ("not_utf8", "not valid UTF-8", None),
    ("oversized", "over the limit of 1048576", None),
    ("missing_event_type", "missing required field event_type", "event_type"),
    ("wrong_type_step", "step must be an integer", "step"),
    ("unknown_event_type", "event_type 'tool_exploded' is not one of", "event_type"),
    ("naive_timestamp", "event_time has no UTC offset", "event_time"),
    ("far_future", "in the future", "event_time"),
    ("empty", "empty message", None),
    ("tombstone", "empty message", None),
    ("whitespace_only", "empty message", None),
    ("duplicate_key", "duplicate key 'event_id'", "event_id"),
    ("blank_agent_id", "agent_id is blank", "agent_id"),
    ("json_array", "JSON value is list, expected an object", None),
    ("missing_agent_id", "missing required field agent_id", "agent_id"),
]


@pytest.mark.parametrize(("case", "reason", "field"), QUARANTINE_EXPECTED)
def test_bad_message_quarantined_with_reason(ingested, case, reason, field):
    held = _quarantined(ingested, case)
    assert reason in held["reason"]
    assert held["field"] == field
    assert held["source_partition"] == 0
    assert held["raw_value"] == dict(CASES)[case]
    assert held["raw_key"] == b"k"
    assert _stored(ingested, case) == []


def test_every_message_accounted_once(ingested):
    _, stats, quarantined, stored = ingested
    stored_offsets = {row["source_offset"] for row in stored}
    assert stats.records_read == len(CASES)
    assert stored_offsets.isdisjoint(quarantined)
    assert stored_offsets | set(quarantined) == set(range(len(CASES)))
    assert len(stored) == stats.records_written
    assert len(quarantined) == stats.records_quarantined == len(QUARANTINE_EXPECTED)


def test_missing_agent_id_holds_back_only_that_record(ingested):
    assert _quarantined(ingested, "missing_agent_id")
    assert [row["event_id"] for row in _stored(ingested, "good_before")] == ["ev-00000001"]
    assert [row["event_id"] for row in _stored(ingested, "good_after")] == ["ev-00000019"]


def test_epoch_millis_normalised_to_utc(ingested):
    (row,) = _stored(ingested, "epoch_millis")
    assert row["event_time"] == datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
    assert row["event_date"] == "2026-03-02"


def test_duplicate_same_content_both_stored(ingested):
    copies = _stored(ingested, "duplicate_same_1") + _stored(ingested, "duplicate_same_2")
    assert [row["event_id"] for row in copies] == ["ev-00000009", "ev-00000009"]
    assert copies[0]["source_offset"] != copies[1]["source_offset"]


def test_duplicate_different_content_both_stored(ingested):
    copies = _stored(ingested, "duplicate_diff_1") + _stored(ingested, "duplicate_diff_2")
    assert [row["event_id"] for row in copies] == ["ev-00000010", "ev-00000010"]
    assert [row["outcome"] for row in copies] == ["success", "failure"]


def test_out_of_order_events_stored_by_their_date(ingested):
    (late,) = _stored(ingested, "out_of_order_late")
    (early,) = _stored(ingested, "out_of_order_early")
    assert late["source_offset"] < early["source_offset"]
    assert late["event_date"] == "2026-03-05"
    assert early["event_date"] == "2026-03-01"


def test_blank_optional_identity_becomes_null(ingested):
    (row,) = _stored(ingested, "blank_optional_task")
    assert row["task_id"] is None


def test_identity_whitespace_trimmed(ingested):
    (row,) = _stored(ingested, "padded_identity")
    assert row["principal_id"] == "sa:support_bot"


def test_identity_unicode_forms_stored_as_nfc(ingested):
    (composed,) = _stored(ingested, "nfc_composed")
    (decomposed,) = _stored(ingested, "nfd_decomposed")
    assert composed["agent_id"] == "caf\u00e9-bot"
    assert decomposed["agent_id"] == composed["agent_id"]


def test_all_null_columns_keep_their_types(ingested):
    settings = ingested[0]
    files = sorted(settings.decisions_dir.glob("event_date=*/*.parquet"))
    assert files
    for path in files:
        schema = pq.read_schema(path)
        for name in ("on_behalf_of", "credential_expires_at", "approval_id", "step"):
            assert schema.field(name).type == EVENT_SCHEMA.field(name).type, (path, name)
    assert all(row["on_behalf_of"] is None for row in ingested[3])


def test_lake_files_named_after_topic_partition_offsets(ingested):
    settings = ingested[0]
    for path in settings.decisions_dir.glob("event_date=*/*.parquet"):
        topic, partition, first, last = path.stem.split("+")
        offsets = [row["source_offset"] for row in ingested[3] if row["filename"] == str(path)]
        assert topic == settings.topic
        assert partition == "0"
        assert int(first) == min(offsets)
        assert int(last) == max(offsets)


def test_quarantine_keeps_message_timestamp(ingested):
    held = _quarantined(ingested, "invalid_json")
    assert held["message_timestamp"] is not None
    assert held["quarantined_at"] >= held["message_timestamp"]
