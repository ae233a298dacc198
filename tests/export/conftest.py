"""Fixtures for the export tests: a warehouse file in tmp_path and loopback receivers."""

from __future__ import annotations

import random
from collections.abc import Iterator

import duckdb
import pytest

from detections.export.engine import Pacing

from .listeners import RecordingHttpServer, SyslogListener


@pytest.fixture
def con(tmp_path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


@pytest.fixture
def http_server() -> Iterator[RecordingHttpServer]:
    server = RecordingHttpServer().start()
    yield server
    server.stop()


@pytest.fixture
def tcp_syslog() -> Iterator[SyslogListener]:
    listener = SyslogListener("tcp").start()
    yield listener
    listener.stop()


@pytest.fixture
def udp_syslog() -> Iterator[SyslogListener]:
    listener = SyslogListener("udp").start()
    yield listener
    listener.stop()


class InstantPacing(Pacing):
    """Backoff that records each delay instead of sleeping, with a fixed seed."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        super().__init__(sleep=self.delays.append, rng=random.Random(7))


@pytest.fixture
def pacing() -> InstantPacing:
    return InstantPacing()
