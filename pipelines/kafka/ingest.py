"""The ingest worker: Kafka topic to the Parquet lake, with quarantine and at-least-once commits.

Commit protocol, per flush:
  1. write every buffered record to Parquet (temporary file, fsync, atomic rename),
  2. fsync the directories that received files,
  3. commit the next offset of each partition to the consumer group,
  4. record the committed offsets beside the lake (used by compaction).
A crash before step 3 leaves files whose first offset is at or past the committed offset.
The partition's next owner deletes those files before it reads, then reads the same
records again, so a crashed worker leaves no record twice in the lake. Files are named
after topic, partition and first and last offset, so a replay with the same boundaries
rewrites the same file, and a file name never changes content.

Rebalances: the revoke callback drops the buffer without writing it, because kafka-python
runs the callback on the loop that sends heartbeats, where blocking IO does not belong.
The dropped records were not committed. After each assignment every partition is rewound
to its committed offset, so they are read again. docs/ingest.md has the details.

    python -m pipelines.kafka.ingest [--follow] [--max-seconds N] [--topic T] [--group G]
                                     [--instance-id ID]
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from pipelines.kafka.batch import BatchLimits, FlushResult, IngestBuffer, PendingMessage
from pipelines.kafka.broker import ensure_broker
from pipelines.kafka.producer import ensure_topic
from pipelines.kafka.quarantine_schema import quarantine_row
from pipelines.lake.durable import remove_durably
from pipelines.lake.layout import partition_files, partition_temp_files
from pipelines.lake.offsets import record_committed_offset
from pipelines.settings import Settings, load_settings
from transforms.contract import (
    DEFAULT_MAX_MESSAGE_BYTES,
    InvalidEvent,
    event_date,
    parse_event,
)

log = logging.getLogger(__name__)

POLL_TIMEOUT_MS = 500
COMMIT_RETRY_SECONDS = 10.0
# A worker that stops when caught up waits this long for partitions before giving up: the
# default group session timeout (45 s) plus a rebalance.
EMPTY_ASSIGNMENT_WAIT = 75.0
COMMIT_ATTEMPT_TIMEOUT_MS = 5000
# Bounds on what the consumer fetches ahead of the buffer, so memory stays flat.
DEFAULT_MAX_POLL_RECORDS = 2000
DEFAULT_FETCH_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_PARTITION_FETCH_BYTES = 4 * 1024 * 1024
# kafka-python 3.0.12 backs off reconnects up to 30 s by default. A 2 s cap makes the
# worker try the broker again within seconds once it is back.
RECONNECT_BACKOFF_MAX_MS = 2000


@dataclass
class IngestStats:
    """Counts of one ingest run and the next offset committed per partition."""

    topic: str
    group: str
    records_read: int = 0
    records_written: int = 0
    records_quarantined: int = 0
    files_written: int = 0
    flushes: int = 0
    commit_failures: int = 0
    stale_files_removed: int = 0
    committed_offsets: dict[int, int] = field(default_factory=dict)
    stopped_because: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class _RebalanceListener(ConsumerRebalanceListener):
    """Forwards kafka-python's rebalance callbacks to the worker; no IO happens here."""

    def __init__(self, worker: IngestWorker):
        self.worker = worker

    def on_partitions_revoked(self, revoked):
        self.worker.on_revoked(revoked)

    def on_partitions_assigned(self, assigned):
        self.worker.on_assigned(assigned)


class IngestWorker:
    """One member of the ingest consumer group; `run` returns when caught up or stopped."""

    def __init__(self, settings: Settings, *, topic: str | None = None, group: str | None = None):
        self.settings = settings
        self.topic = topic or settings.topic
        self.group = group or settings.consumer_group
        config = settings.section("ingest")
        self.max_message_bytes = int(config.get("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES))
        self.max_future_skew = timedelta(hours=float(config.get("max_future_skew_hours", 24)))
        self.buffer = IngestBuffer(self.topic, BatchLimits.from_config(config))
        self.stats = IngestStats(topic=self.topic, group=self.group)
        self.consumer_config = {
            "max_poll_records": int(config.get("max_poll_records", DEFAULT_MAX_POLL_RECORDS)),
            "fetch_max_bytes": int(config.get("fetch_max_bytes", DEFAULT_FETCH_MAX_BYTES)),
            "max_partition_fetch_bytes": int(
                config.get("max_partition_fetch_bytes", DEFAULT_PARTITION_FETCH_BYTES)
            ),
            "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
        }
        # Optional group tuning: a static member id lets a restarted worker take its
        # partitions back at once, and a shorter session timeout hands a dead worker's
        # partitions to the others sooner.
        for key in ("group_instance_id", "session_timeout_ms", "heartbeat_interval_ms"):
            if config.get(key) is not None:
                self.consumer_config[key] = config[key]
        self.stop_requested = threading.Event()
        self.assigned: set[TopicPartition] | None = None
        self._assignment_changed = False
        self._empty_since: float | None = None
        self.end_offsets: dict[int, int] = {}
        self.read_positions: dict[int, int] = {}
        # Next offsets of durable flushes whose commit failed while this worker kept its
        # partitions (broker outage); the next commit includes them.
        self.uncommitted: dict[int, int] = {}
        self.last_commit_attempt = 0.0
        self.consumer: KafkaConsumer | None = None

    # Rebalance callbacks run on kafka-python's IO thread while `poll` blocks the main
    # thread, so they never race with the main loop over the buffer.
    def on_revoked(self, revoked) -> None:
        if self.buffer.record_count:
            log.info(
                "group %s: partitions %s revoked; dropping %d uncommitted buffered records, "
                "the next owner reads them again",
                self.group,
                sorted(tp.partition for tp in revoked),
                self.buffer.record_count,
            )
        self.buffer.clear()
        self.uncommitted.clear()
        self.assigned = set()
        self._assignment_changed = True

    def on_assigned(self, assigned) -> None:
        self.assigned = set(assigned)
        self._assignment_changed = True

    def _open_consumer(self) -> KafkaConsumer:
        consumer = KafkaConsumer(
            bootstrap_servers=ensure_broker(self.settings),
            group_id=self.group,
            client_id=f"agentaudit-ingest-{self.group}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self.consumer_config,
        )
        consumer.subscribe([self.topic], listener=_RebalanceListener(self))
        return consumer

    def _prepare_assignment(self) -> None:
        """Rewind each assigned partition to its committed offset and remove later files.

        kafka-python 3.0.12 keeps the fetch position of a partition that stays assigned
        across a rebalance. The revoke callback dropped the buffered records behind that
        position, so every partition is rewound explicitly: to its committed offset, or to
        its beginning when the group has committed nothing for it yet.
        """
        self._assignment_changed = False
        assigned = sorted(self.assigned or (), key=lambda tp: tp.partition)
        beginnings = self.consumer.beginning_offsets(assigned) if assigned else {}
        self.read_positions = {}
        for tp in assigned:
            committed = self.consumer.committed(tp)
            position = committed if committed is not None else beginnings[tp]
            self.consumer.seek(tp, position)
            self.read_positions[tp.partition] = position
        self.end_offsets = (
            {tp.partition: offset for tp, offset in self.consumer.end_offsets(assigned).items()}
            if assigned
            else {}
        )
        for partition, position in self.read_positions.items():
            self._remove_uncommitted_files(partition, position)
        log.info(
            "group %s topic %s: assigned partitions %s, reading from %s up to end offsets %s",
            self.group,
            self.topic,
            [tp.partition for tp in assigned],
            self.read_positions,
            self.end_offsets,
        )

    def _remove_uncommitted_files(self, partition: int, position: int) -> None:
        lake = self.settings
        stale = [
            item.path
            for root in (lake.decisions_dir, lake.quarantine_dir)
            for item in partition_files(root, self.topic, partition)
            if item.first_offset >= position
        ]
        temps = [
            path
            for root in (lake.decisions_dir, lake.quarantine_dir)
            for path in partition_temp_files(root, self.topic, partition)
        ]
        removed = remove_durably(stale + temps)
        if removed:
            log.warning(
                "topic %s partition %d: removed %d files at or past committed offset %d "
                "(left by a worker that stopped before committing); their records are read again",
                self.topic,
                partition,
                removed,
                position,
            )
            self.stats.stale_files_removed += removed

    def _accept(self, record, now: datetime) -> None:
        self.stats.records_read += 1
        size = len(record.value or b"") + len(record.key or b"")
        try:
            row = parse_event(
                record.value,
                max_bytes=self.max_message_bytes,
                now=now,
                max_future_skew=self.max_future_skew,
            )
        except InvalidEvent as exc:
            self._quarantine(record, exc.reason, exc.field, now, size)
            return
        except Exception as exc:  # a bug must not stop the partition: hold the record back
            log.exception(
                "topic %s partition %d offset %d: validation failed unexpectedly; quarantining",
                record.topic,
                record.partition,
                record.offset,
            )
            self._quarantine(
                record,
                f"validation failed unexpectedly: {type(exc).__name__}: {exc}",
                None,
                now,
                size,
            )
            return
        row["source_topic"] = record.topic
        row["source_partition"] = record.partition
        row["source_offset"] = record.offset
        row["ingested_at"] = now
        message = PendingMessage(record.offset, record.key, record.value, record.timestamp)
        self.buffer.add_event(row, event_date(row), message, size)

    def _quarantine(self, record, reason: str, field_name, now: datetime, size: int) -> None:
        self.buffer.add_quarantined(
            quarantine_row(
                value=record.value,
                key=record.key,
                reason=reason,
                field=field_name,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                timestamp_ms=record.timestamp,
                quarantined_at=now,
            ),
            size,
        )

    def flush(self, reason: str) -> None:
        """Write the buffer durably, then commit its offsets; a no-op when the buffer is empty."""
        if not self.buffer.record_count:
            return
        result = self.buffer.write(
            self.settings.decisions_dir, self.settings.quarantine_dir, datetime.now(UTC)
        )
        self.stats.flushes += 1
        self.stats.files_written += len(result.files)
        self.stats.records_written += result.written
        self.stats.records_quarantined += result.quarantined
        committed = self._commit(result)
        log.info(
            "group %s topic %s flush %d (%s): %d events and %d quarantined in %d files; "
            "offsets %s; committed %s",
            self.group,
            self.topic,
            self.stats.flushes,
            reason,
            result.written,
            result.quarantined,
            len(result.files),
            {
                p: f"{result.first_offsets[p]}..{n - 1}"
                for p, n in sorted(result.next_offsets.items())
            },
            "yes" if committed else "no",
        )

    def _commit(self, result: FlushResult) -> bool:
        """Commit the flush's offsets with any earlier ones still pending."""
        self.uncommitted.update(result.next_offsets)
        return self._commit_pending(retry_seconds=COMMIT_RETRY_SECONDS)

    def _commit_pending(self, *, retry_seconds: float) -> bool:
        """Commit `self.uncommitted`; return False when it stays pending or was given up.

        Retries for at most `retry_seconds` here. After that the offsets stay pending and the
        main loop retries them after each poll, so the worker keeps polling, and stays in
        its group, through a broker outage.
        """
        next_offsets = dict(self.uncommitted)
        offsets = {
            TopicPartition(self.topic, partition): OffsetAndMetadata(offset, "", -1)
            for partition, offset in next_offsets.items()
        }
        self.last_commit_attempt = time.monotonic()
        deadline = self.last_commit_attempt + retry_seconds
        while True:
            try:
                self.consumer.commit(offsets, timeout_ms=COMMIT_ATTEMPT_TIMEOUT_MS)
                break
            except CommitFailedError as exc:
                # The group moved on: the partitions' next owner removes and rereads the files.
                self.uncommitted.clear()
                return self._commit_failed(next_offsets, exc, pending=False)
            except KafkaError as exc:
                if not getattr(exc, "retriable", False) or time.monotonic() >= deadline:
                    return self._commit_failed(next_offsets, exc, pending=True)
                log.warning("group %s: commit failed (%r); retrying", self.group, exc)
                time.sleep(1.0)
        self.uncommitted.clear()
        for partition, offset in next_offsets.items():
            self.stats.committed_offsets[partition] = offset
            record_committed_offset(
                self.settings.lake_dir, self.topic, partition, offset, self.group
            )
        return True

    def _commit_failed(self, offsets: dict[int, int], exc: Exception, *, pending: bool) -> bool:
        self.stats.commit_failures += 1
        outcome = (
            "stays pending and is retried after the next poll"
            if pending
            else "is dropped; the next owner of those partitions removes and rewrites the files"
        )
        log.warning(
            "group %s topic %s: commit of offsets %s failed (%r); the commit %s",
            self.group,
            self.topic,
            offsets,
            exc,
            outcome,
        )
        return False

    def _caught_up(self) -> bool:
        if self.assigned is None or self._assignment_changed or self.uncommitted:
            return False
        if not self.assigned:
            # An empty assignment is not "caught up": members that died still hold the
            # partitions until the group's session timeout expires, then they move here.
            return False
        return all(
            self.read_positions.get(partition, 0) >= end
            for partition, end in self.end_offsets.items()
        )

    def _idle_without_partitions(self, started: float) -> bool:
        """Return True once the assignment stayed empty for EMPTY_ASSIGNMENT_WAIT seconds."""
        if self.assigned:
            self._empty_since = None
            return False
        if self._empty_since is None:
            self._empty_since = time.monotonic()
        return time.monotonic() - max(self._empty_since, started) >= EMPTY_ASSIGNMENT_WAIT

    def run(
        self, *, stop_when_caught_up: bool = True, max_seconds: float | None = None
    ) -> IngestStats:
        """Consume until caught up, `max_seconds` elapse or a stop is requested; flush on exit."""
        ensure_topic(self.settings, self.topic)
        self.consumer = self._open_consumer()
        started = time.monotonic()
        log.info("group %s: ingest of topic %s started", self.group, self.topic)
        try:
            while True:
                polled = self.consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
                if self._assignment_changed:
                    # Records of this poll came from positions before the rewind: the
                    # consumer fetches them again from the committed offsets.
                    self._prepare_assignment()
                    polled = {}
                now = datetime.now(UTC)
                for records in polled.values():
                    for record in records:
                        if record.offset < self.read_positions.get(record.partition, 0):
                            continue  # fetched before a rewind and already buffered
                        self._accept(record, now)
                        self.read_positions[record.partition] = record.offset + 1
                        if self.buffer.is_over_size():
                            self.flush("size limit")
                reason = self.buffer.full_reason()
                if reason:
                    self.flush(reason)
                elif self.uncommitted and time.monotonic() - self.last_commit_attempt >= 1.0:
                    self._commit_pending(retry_seconds=0)
                if self.stop_requested.is_set():
                    self.stats.stopped_because = "stop requested"
                elif stop_when_caught_up and self._caught_up():
                    self.stats.stopped_because = "caught up"
                elif stop_when_caught_up and self._idle_without_partitions(started):
                    self.stats.stopped_because = "no partitions assigned"
                    log.warning(
                        "group %s: no partition of topic %s assigned after %.0f s; other "
                        "members hold them all",
                        self.group,
                        self.topic,
                        EMPTY_ASSIGNMENT_WAIT,
                    )
                elif max_seconds is not None and time.monotonic() - started >= max_seconds:
                    self.stats.stopped_because = "max seconds reached"
                else:
                    continue
                self.flush("shutdown")
                if self.uncommitted:
                    self._commit_pending(retry_seconds=COMMIT_RETRY_SECONDS)
                break
        finally:
            self.consumer.close(autocommit=False)
        log.info(
            "group %s topic %s: ingest stopped (%s): read %d, wrote %d, quarantined %d, %d files",
            self.group,
            self.topic,
            self.stats.stopped_because,
            self.stats.records_read,
            self.stats.records_written,
            self.stats.records_quarantined,
            self.stats.files_written,
        )
        return self.stats


def run_ingest(
    settings: Settings,
    *,
    stop_when_caught_up: bool = True,
    max_seconds: float | None = None,
    topic: str | None = None,
    group: str | None = None,
) -> IngestStats:
    """Run one ingest worker; SIGTERM and SIGINT stop it after a final flush and commit.

    Signal handlers are installed only when called from the main thread.
    """
    worker = IngestWorker(settings, topic=topic, group=group)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: worker.stop_requested.set())
    try:
        return worker.run(stop_when_caught_up=stop_when_caught_up, max_seconds=max_seconds)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ingest the decision topic into the lake.")
    parser.add_argument("--follow", action="store_true", help="keep running after catching up")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop after N seconds")
    parser.add_argument("--topic", default=None, help="topic to read (default: configured)")
    parser.add_argument("--group", default=None, help="consumer group (default: configured)")
    parser.add_argument(
        "--instance-id", default=None, help="static group member id (group.instance.id)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    overrides = {"ingest": {"group_instance_id": args.instance_id}} if args.instance_id else {}
    stats = run_ingest(
        load_settings(**overrides),
        stop_when_caught_up=not args.follow,
        max_seconds=args.max_seconds,
        topic=args.topic,
        group=args.group,
    )
    print(json.dumps(stats.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
