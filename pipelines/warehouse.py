"""Connections to the DuckDB warehouse: one writer at a time, readers read-only.

DuckDB lets one process open a file for writing. Writers (Dagster assets, CLI commands that
change tables) take an exclusive `flock` on `<warehouse>.writer.lock` first and wait for
it, so a scheduled run and a manual command queue instead of failing with "Could not set
lock on file". Readers (`agentaudit sql`, investigations) open the file read-only through
`pipelines.investigations.connection` and never take the writer's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0


class WarehouseBusy(RuntimeError):
    """A writer held the warehouse for longer than a reader or another writer could wait."""


@contextlib.contextmanager
def writer_lock(path: Path, *, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the exclusive writer lock of the warehouse at `path`, waiting up to `timeout` s."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".writer.lock")
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"another writer held {path} for over {timeout:.0f} s; "
                        "wait for the running job to finish and retry"
                    ) from None
                if not waited:
                    log.info("waiting for the writer lock on %s", path)
                    waited = True
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _open_for_writing(path: Path, deadline: float) -> duckdb.DuckDBPyConnection:
    """Open `path` read-write, retrying while a reader process briefly holds DuckDB's lock."""
    attempts = 0
    while True:
        attempts += 1
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            if attempts == 1:
                log.info("warehouse %s is open in another process; retrying: %s", path, exc)
            time.sleep(min(0.2 * attempts, 2.0))


@contextlib.contextmanager
def connect_writer(path: Path, *, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS):
    """Open the warehouse for writing under the writer lock; closes the connection after.

    Readers hold DuckDB's file lock only for the length of one query, so opening the file
    is retried until `timeout` seconds have passed since the call.
    """
    deadline = time.monotonic() + timeout
    with writer_lock(path, timeout=timeout):
        con = _open_for_writing(path, deadline)
        try:
            yield con
        finally:
            con.close()
