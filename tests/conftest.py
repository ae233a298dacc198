"""Shared fixtures: the real local Kafka broker and per-test data directories.

The session fixture `kafka_bootstrap` starts the local broker when none runs and stops it
at the end only if it started it; with KAFKA_BOOTSTRAP_SERVERS set it uses that cluster.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from pipelines.kafka import broker
from pipelines.settings import Settings, load_settings


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    settings = load_settings()
    if settings.external_kafka:
        yield settings.bootstrap_servers
        return
    instance = broker.BrokerInstance()
    already_running = broker.status(instance)["port_open"]
    bootstrap = broker.start(instance)
    yield bootstrap
    if not already_running:
        broker.stop(instance)


@pytest.fixture
def topic_name(request) -> str:
    """A topic name unique to this test, so tests never read each other's events."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in request.node.name)[:80]
    return f"test.{safe}.{uuid.uuid4().hex[:8]}"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch) -> Path:
    """A fresh data directory for this test, set as AGENTAUDIT_DATA_DIR."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("AGENTAUDIT_DATA_DIR", str(path))
    return path


@pytest.fixture
def settings(data_dir: Path, kafka_bootstrap: str, topic_name: str) -> Settings:
    """Settings for a test that uses Kafka: its own data directory and topic."""
    return load_settings(kafka={"topic": topic_name, "consumer_group": f"group-{topic_name}"})
