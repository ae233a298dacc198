"""Readers of one benchmark topic: Kafka's Java tool, bare kafka-python and confluent-kafka
loops, and agentaudit's ingest worker, each timed from its first connection to its last
record.

The ingest worker runs as a subprocess (`python -m pipelines.kafka.ingest`) with a data
directory of its own, and its peak resident set size comes from the kernel's resource
usage of the child (`wait4`), so it covers the whole life of the process.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from pipelines.kafka.broker import ensure_broker, libs_dir
from pipelines.kafka.ingest import (
    DEFAULT_FETCH_MAX_BYTES,
    DEFAULT_MAX_POLL_RECORDS,
    DEFAULT_PARTITION_FETCH_BYTES,
)
from pipelines.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)

JAVA_TOOL = "org.apache.kafka.tools.ConsumerPerformance"
# The Java tool gives up when no record arrives for this long.
JAVA_TIMEOUT_MS = 30_000
# The bare loop gives up when no record arrives for this long.
STALL_SECONDS = 60.0
MIB = 2**20


@dataclass
class ReadResult:
    """Messages and bytes (keys plus values) one reader consumed, and its wall time."""

    reader: str
    messages: int
    bytes: int
    seconds: float
    cpu_seconds: float | None = None

    @property
    def events_per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def mib_per_second(self) -> float:
        return self.bytes / MIB / self.seconds if self.seconds else 0.0

    @property
    def events_per_cpu_second(self) -> float | None:
        return self.messages / self.cpu_seconds if self.cpu_seconds else None

    def figures(self) -> dict:
        figures = {
            f"{self.reader} events/s": round(self.events_per_second),
            f"{self.reader} MiB/s": round(self.mib_per_second, 2),
            f"{self.reader} seconds": round(self.seconds, 2),
        }
        if self.cpu_seconds is not None:
            figures[f"{self.reader} CPU seconds"] = round(self.cpu_seconds, 2)
            figures[f"{self.reader} events per CPU second"] = round(self.events_per_cpu_second)
        return figures


def wait_with_usage(process: subprocess.Popen) -> tuple[int, resource.struct_rusage]:
    """Wait for `process` and return its exit code and the kernel's resource usage of it."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage


def cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


@dataclass
class IngestRun:
    """One run of the ingest worker subprocess: its timing, counts and peak RSS."""

    read: ReadResult
    stats: dict
    peak_rss_bytes: int
    data_dir: Path


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and Path(java_home, "bin", "java").exists():
        return str(Path(java_home, "bin", "java"))
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("java is not on PATH; the Java baseline needs Java 17 or newer")
    return found


def read_with_java_tool(settings: Settings, topic: str, messages: int) -> ReadResult:
    """Read `messages` records of `topic` with Kafka's ConsumerPerformance tool.

    The tool's own elapsed time counts from its start, group join included, to its last
    record; the JVM start-up before that is not counted. Its CPU time is the whole JVM's,
    start-up and JIT compilation included.
    """
    command = [
        java_executable(),
        "-Xmx1g",
        "-cp",
        str(libs_dir() / "*"),
        JAVA_TOOL,
        "--bootstrap-server",
        ensure_broker(settings),
        "--topic",
        topic,
        "--messages",
        str(messages),
        "--group",
        f"agentaudit-bench-java-{uuid.uuid4().hex[:8]}",
        "--timeout",
        str(JAVA_TIMEOUT_MS),
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        returncode, usage = wait_with_usage(process)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if returncode != 0:
        raise RuntimeError(
            f"{JAVA_TOOL} exited with code {returncode} on topic {topic}:\n"
            f"{stderr.decode(errors='replace')[-2000:]}"
        )
    row = _parse_java_output(stdout.decode(errors="replace"))
    consumed = int(row["data.consumed.in.nMsg"])
    if consumed < messages:
        raise RuntimeError(f"{JAVA_TOOL} read {consumed} of {messages} messages of {topic}")
    mib = float(row["data.consumed.in.MB"])
    # The tool prints MB as 2^20 bytes; the elapsed time follows from its rate.
    seconds = consumed / float(row["nMsg.sec"])
    return ReadResult(
        "java ConsumerPerformance", consumed, round(mib * MIB), seconds, cpu_seconds(usage)
    )


def _parse_java_output(stdout: str) -> dict[str, str]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith("start.time") and index + 1 < len(lines):
            header = [name.strip() for name in line.split(",")]
            values = [value.strip() for value in lines[index + 1].split(",")]
            return dict(zip(header, values, strict=False))
    raise RuntimeError(f"no result line in the output of {JAVA_TOOL}:\n{stdout[-2000:]}")


def read_with_kafka_python(settings: Settings, topic: str) -> ReadResult:
    """Read every record of `topic` with kafka-python, counting records and bytes only.

    Uses the fetch settings of the ingest worker, so the difference to the ingest run is
    the work the worker does per record.
    """
    config = settings.section("ingest")
    clock, cpu_clock = time.perf_counter(), time.process_time()
    consumer = KafkaConsumer(
        bootstrap_servers=ensure_broker(settings),
        group_id=None,
        enable_auto_commit=False,
        max_poll_records=int(config.get("max_poll_records", DEFAULT_MAX_POLL_RECORDS)),
        fetch_max_bytes=int(config.get("fetch_max_bytes", DEFAULT_FETCH_MAX_BYTES)),
        max_partition_fetch_bytes=int(
            config.get("max_partition_fetch_bytes", DEFAULT_PARTITION_FETCH_BYTES)
        ),
    )
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        starts = consumer.beginning_offsets(partitions)
        expected = sum(ends[tp] - starts[tp] for tp in partitions)
        messages = size = 0
        last_progress = time.monotonic()
        while messages < expected:
            polled = consumer.poll(timeout_ms=500)
            for records in polled.values():
                messages += len(records)
                for record in records:
                    size += len(record.value or b"") + len(record.key or b"")
            if polled:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > STALL_SECONDS:
                raise RuntimeError(
                    f"kafka-python read {messages} of {expected} records of {topic}, then "
                    f"nothing for {STALL_SECONDS:.0f} s; check the broker"
                )
    finally:
        consumer.close()
    return ReadResult(
        "kafka-python loop",
        messages,
        size,
        time.perf_counter() - clock,
        time.process_time() - cpu_clock,
    )


def run_ingest_worker(
    settings: Settings, topic: str, data_dir: Path, *, profile_to: Path | None = None
) -> IngestRun:
    """Run the ingest worker on `topic` until caught up, into a lake under `data_dir`.

    With `profile_to`, the worker runs under pyinstrument and its text profile is written
    there; its timing then includes the profiler's overhead.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    group = f"agentaudit-bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "AGENTAUDIT_DATA_DIR": str(data_dir)}
    command = [sys.executable]
    if profile_to is not None:
        command += ["-m", "pyinstrument", "-r", "text", "-o", str(profile_to)]
    command += ["-m", "pipelines.kafka.ingest", "--topic", topic, "--group", group]
    stdout_path, stderr_path = data_dir / "ingest.out", data_dir / "ingest.log"
    ensure_broker(settings)
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        clock = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=err)
        returncode, usage = wait_with_usage(process)
        seconds = time.perf_counter() - clock
    if returncode != 0:
        raise RuntimeError(
            f"ingest worker on topic {topic} exited with code {returncode}; see {stderr_path}"
        )
    stats = json.loads(stdout_path.read_text().strip().splitlines()[-1])
    # Linux reports ru_maxrss in KiB.
    peak = usage.ru_maxrss * 1024
    read = ReadResult("agentaudit ingest", stats["records_read"], 0, seconds, cpu_seconds(usage))
    return IngestRun(read, stats, peak, data_dir)


def read_with_confluent_kafka(settings: Settings, topic: str) -> ReadResult | None:
    """Read every record of `topic` with confluent-kafka (librdkafka), counting only.

    Returns None when confluent-kafka is not installed (`pip install -e '.[fast]'`).
    """
    try:
        from confluent_kafka import Consumer
        from confluent_kafka import TopicPartition as ConfluentPartition
    except ImportError:
        log.info("confluent-kafka is not installed; its reader is left out")
        return None
    clock, cpu_clock = time.perf_counter(), time.process_time()
    consumer = Consumer(
        {
            "bootstrap.servers": ensure_broker(settings),
            "group.id": f"agentaudit-bench-confluent-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=30)
        partitions = sorted(metadata.topics[topic].partitions)
        expected = 0
        assigned = []
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(
                ConfluentPartition(topic, partition), timeout=30
            )
            expected += high - low
            assigned.append(ConfluentPartition(topic, partition, low))
        consumer.assign(assigned)
        messages = size = 0
        last_progress = time.monotonic()
        while messages < expected:
            batch = consumer.consume(num_messages=10_000, timeout=0.5)
            for message in batch:
                if message.error() is None:
                    messages += 1
                    size += len(message.value() or b"") + len(message.key() or b"")
            if batch:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > STALL_SECONDS:
                raise RuntimeError(
                    f"confluent-kafka read {messages} of {expected} records of {topic}, then "
                    f"nothing for {STALL_SECONDS:.0f} s; check the broker"
                )
    finally:
        consumer.close()
    return ReadResult(
        "confluent-kafka loop",
        messages,
        size,
        time.perf_counter() - clock,
        time.process_time() - cpu_clock,
    )
