"""Benchmark topics filled with simulated fleet events, produced once and reused.

A topic is named after its event count and seed (`agentaudit.bench.e<N>.s<seed>`), so a
second run with the same arguments reads the topic that is already there instead of
producing it again. A topic whose message count differs from N (an interrupted run) is
deleted and produced again.

The simulator plans a fleet large enough for N events over `DAYS` days, and its agents are
split between `workers` processes that each generate and produce their share, because
generation costs about as much CPU as producing. The stream goes on past N into a second
topic, `<topic>.increment`, which holds the next events of the same fleet: the new data of
the incremental-load stage.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import multiprocessing
import time
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import UnknownTopicOrPartitionError

from pipelines.kafka.broker import ensure_broker
from pipelines.kafka.producer import agent_key, encode_event, ensure_topic, produce_records
from pipelines.settings import Settings, load_settings
from pipelines.sources.simulator import generate_events, plan_fleet

log = logging.getLogger(__name__)

DAYS = 30
# A simulated agent emits about 70 events a day (measured on seed 1); planning with a lower
# figure makes the fleet large enough, and the producers stop at exactly N events.
EVENTS_PER_AGENT_DAY = 55
AGENT_KINDS = 3
PARTITIONS = 6


@dataclass(frozen=True)
class Workload:
    """Contents of a benchmark topic: event count, seed, simulated days, and how many of the
    fleet's next events go to the increment topic (0 for none)."""

    events: int
    seed: int
    days: int = DAYS

    increment: int = 0

    @property
    def topic(self) -> str:
        return f"agentaudit.bench.e{self.events}.s{self.seed}"

    @property
    def increment_topic(self) -> str:
        return f"{self.topic}.increment"

    def agents_per_kind(self) -> int:
        agents = (self.events + self.increment) / (self.days * EVENTS_PER_AGENT_DAY)
        return max(2, math.ceil(agents / AGENT_KINDS))


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


def _split(total: int, workers: int) -> list[int]:
    return [total // workers + (1 if i < total % workers else 0) for i in range(workers)]


def prepare_topic(
    settings: Settings, workload: Workload, *, workers: int = 2, fresh: bool = False
) -> dict:
    """Make sure the workload's topics hold exactly its events; return what was done."""
    topic = workload.topic
    wanted = {topic: workload.events}
    if workload.increment:
        wanted[workload.increment_topic] = workload.increment
    existing = {name: topic_message_count(settings, name) for name in wanted}
    if existing == wanted and not fresh:
        log.info("topics %s already hold %s events; reusing them", list(wanted), existing)
        return {"topic": topic, "produced": 0, "reused": True}
    for name, count in existing.items():
        if count is not None:
            log.info(
                "topic %s contains %s events, expected %d; producing it again",
                name,
                count,
                wanted[name],
            )
            _delete_topic(settings, name)
    for name in wanted:
        ensure_topic(settings, name, PARTITIONS)
    clock = time.perf_counter()
    jobs = [
        (workload, i, workers, base, extra)
        for i, (base, extra) in enumerate(
            zip(_split(workload.events, workers), _split(workload.increment, workers), strict=True)
        )
    ]
    if workers == 1:
        results = [produce_share(*jobs[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = pool.starmap(produce_share, jobs)
    produced = sum(count for count, _ in results)
    value_bytes = sum(size for _, size in results)
    seconds = time.perf_counter() - clock
    if produced != workload.events + workload.increment:
        raise RuntimeError(
            f"simulated fleet of {workload.agents_per_kind()} agents per kind gave {produced} "
            f"events for topic {topic}, expected {workload.events + workload.increment}; "
            "lower EVENTS_PER_AGENT_DAY"
        )
    log.info(
        "produced %d events (%.1f MiB) to %s in %.1f s with %d processes",
        produced,
        value_bytes / 2**20,
        list(wanted),
        seconds,
        workers,
    )
    return {"topic": topic, "produced": produced, "reused": False, "seconds": round(seconds, 1)}


def produce_share(
    workload: Workload, index: int, workers: int, quota: int, increment_quota: int
) -> tuple[int, int]:
    """Generate and produce the events of every `workers`-th agent of the fleet.

    The first `quota` events go to the workload's topic and the next `increment_quota` to
    its increment topic. Runs in a worker process; returns the count and the bytes of the
    values produced.
    """
    logging.getLogger("kafka").setLevel(logging.WARNING)
    plan = plan_fleet(
        seed=workload.seed, days=workload.days, agents_per_kind=workload.agents_per_kind()
    )
    share = dataclasses.replace(plan, agents=plan.agents[index::workers])
    events = generate_events(share)
    value_bytes = 0

    def records(count: int):
        nonlocal value_bytes
        for event in itertools.islice(events, count):
            value = encode_event(event)
            value_bytes += len(value)
            yield agent_key(event), value

    settings = load_settings()
    count = produce_records(settings, records(quota), topic=workload.topic)
    if increment_quota:
        count += produce_records(settings, records(increment_quota), topic=workload.increment_topic)
    return count, value_bytes
