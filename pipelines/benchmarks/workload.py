"""Benchmark topics filled with simulated fleet events, produced once and reused.

A topic is named after its event count and seed (`agentaudit.bench.e<N>.s<seed>`), so a
second run with the same arguments reads the topic that is already there instead of
producing it again. A topic whose message count differs from N (an interrupted run) is
deleted and produced again.

The simulator plans a fleet large enough for N events over `DAYS` days, and its agents are
split between `workers` processes that each generate and produce their share, because
generation costs about as much CPU as producing.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import multiprocessing
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import UnknownTopicOrPartitionError

from pipelines.kafka.broker import ensure_broker
from pipelines.kafka.producer import agent_key, encode_event, ensure_topic, produce_records
from pipelines.settings import Settings, load_settings
from pipelines.sources.simulator import DEFAULT_END, generate_events, plan_fleet

log = logging.getLogger(__name__)

DAYS = 30
# A simulated agent emits about 70 events a day (measured on seed 1); planning with a lower
# figure makes the fleet large enough, and the producers stop at exactly N events.
EVENTS_PER_AGENT_DAY = 55
AGENT_KINDS = 3
PARTITIONS = 6


@dataclass(frozen=True)
class Workload:
    """What a benchmark topic holds: event count, seed and the simulated period."""

    events: int
    seed: int
    days: int = DAYS
    start: datetime | None = None

    @property
    def topic(self) -> str:
        suffix = "" if self.start is None else f".from{self.start:%Y%m%d}"
        return f"agentaudit.bench.e{self.events}.s{self.seed}{suffix}"

    def agents_per_kind(self) -> int:
        agents = self.events / (self.days * EVENTS_PER_AGENT_DAY)
        return max(2, math.ceil(agents / AGENT_KINDS))


def increment_of(base: Workload, share: float = 0.01) -> Workload:
    """Return the workload of new data after `base`: `share` of its events, later in time."""
    days = 2
    return Workload(max(1, round(base.events * share)), base.seed + 1, days, DEFAULT_END)


def topic_message_count(settings: Settings, topic: str) -> int | None:
    """Return the number of messages in `topic`, or None when it does not exist."""
    consumer = KafkaConsumer(bootstrap_servers=ensure_broker(settings), group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return None
        assigned = [TopicPartition(topic, p) for p in partitions]
        ends = consumer.end_offsets(assigned)
        starts = consumer.beginning_offsets(assigned)
        return sum(ends[tp] - starts[tp] for tp in assigned)
    finally:
        consumer.close()


def _delete_topic(settings: Settings, topic: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=ensure_broker(settings))
    try:
        admin.delete_topics([topic])
    except UnknownTopicOrPartitionError:
        pass
    finally:
        admin.close()
    # Topic deletion completes asynchronously on the broker.
    deadline = time.monotonic() + 60
    while topic_message_count(settings, topic) is not None and time.monotonic() < deadline:
        time.sleep(0.5)


def prepare_topic(
    settings: Settings, workload: Workload, *, workers: int = 2, fresh: bool = False
) -> dict:
    """Make sure the workload's topic holds exactly its events; return what was done."""
    topic = workload.topic
    existing = topic_message_count(settings, topic)
    if existing == workload.events and not fresh:
        log.info("topic %s already holds %d events; reusing it", topic, existing)
        return {"topic": topic, "produced": 0, "reused": True}
    if existing is not None:
        log.info(
            "topic %s holds %s events, expected %d; producing it again",
            topic,
            existing,
            workload.events,
        )
        _delete_topic(settings, topic)
    ensure_topic(settings, topic, PARTITIONS)
    clock = time.perf_counter()
    shares = [
        workload.events // workers + (1 if i < workload.events % workers else 0)
        for i in range(workers)
    ]
    jobs = [(workload, i, workers, share) for i, share in enumerate(shares)]
    if workers == 1:
        results = [produce_share(*jobs[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = pool.starmap(produce_share, jobs)
    produced = sum(count for count, _ in results)
    value_bytes = sum(size for _, size in results)
    seconds = time.perf_counter() - clock
    if produced != workload.events:
        raise RuntimeError(
            f"simulated fleet of {workload.agents_per_kind()} agents per kind gave {produced} "
            f"events for topic {topic}, expected {workload.events}; lower EVENTS_PER_AGENT_DAY"
        )
    log.info(
        "produced %d events (%.1f MiB) to %s in %.1f s with %d processes",
        produced,
        value_bytes / 2**20,
        topic,
        seconds,
        workers,
    )
    return {"topic": topic, "produced": produced, "reused": False, "seconds": round(seconds, 1)}


def produce_share(workload: Workload, index: int, workers: int, quota: int) -> tuple[int, int]:
    """Generate and produce the events of every `workers`-th agent, at most `quota` of them.

    Runs in a worker process; returns the count and the bytes of the values produced.
    """
    logging.getLogger("kafka").setLevel(logging.WARNING)
    plan = plan_fleet(
        seed=workload.seed,
        days=workload.days,
        agents_per_kind=workload.agents_per_kind(),
        start=workload.start,
    )
    share = dataclasses.replace(plan, agents=plan.agents[index::workers])
    value_bytes = 0

    def records():
        nonlocal value_bytes
        for event in itertools.islice(generate_events(share), quota):
            value = encode_event(event)
            value_bytes += len(value)
            yield agent_key(event), value

    count = produce_records(load_settings(), records(), topic=workload.topic)
    return count, value_bytes


def period_end(workload: Workload) -> datetime:
    """Return the end of the simulated period of `workload`."""
    start = workload.start or DEFAULT_END - timedelta(days=workload.days)
    return start + timedelta(days=workload.days)
