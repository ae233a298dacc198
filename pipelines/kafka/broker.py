"""The local Apache Kafka broker: one KRaft node in combined broker and controller mode.

The jars come from Maven Central through `scripts/kafka/pom.xml`, resolved once into
`.local/kafka/libs`. Each broker instance keeps its configuration, data and logs under
`.local/kafka/instances/<port>/`, so tests can run a private broker on another port beside
the shared one on 9092. When `KAFKA_BOOTSTRAP_SERVERS` is set, `ensure_broker` starts
nothing and returns that cluster.

    python -m pipelines.kafka.broker start|stop|status [--port 9092]
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipelines.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)

KAFKA_HOME = Path(os.environ.get("AGENTAUDIT_KAFKA_HOME", REPO_ROOT / ".local" / "kafka"))
POM = REPO_ROOT / "scripts" / "kafka" / "pom.xml"
DEFAULT_PORT = 9092
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 30


class BrokerError(RuntimeError):
    """The local broker could not be installed, started or stopped."""


@dataclass(frozen=True)
class BrokerInstance:
    """One local broker: its client port, controller port and folder."""

    port: int = DEFAULT_PORT

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def home(self) -> Path:
        return KAFKA_HOME / "instances" / str(self.port)

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def config_file(self) -> Path:
        return self.home / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def libs_dir() -> Path:
    return KAFKA_HOME / "libs"


def install_jars() -> Path:
    """Resolve the Kafka jars through Maven once; later calls return the cached folder."""
    target = libs_dir()
    marker = target / ".resolved"
    if marker.exists() and marker.read_text() == POM.read_text():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("Maven (mvn) is not on PATH; install Maven to fetch the Kafka jars")
    if target.exists():
        shutil.rmtree(target)
    log.info("resolving Kafka jars from Maven Central into %s", target)
    command = [
        mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
        f"-DoutputDirectory={target}", "-DincludeScope=runtime",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BrokerError(
            f"mvn failed with exit code {result.returncode} while resolving Kafka jars:\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    marker.write_text(POM.read_text())
    return target


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    if candidate and candidate.exists():
        return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise BrokerError("java is not on PATH; Kafka 4 needs Java 17 or newer")
    return found


def _classpath() -> str:
    return str(libs_dir() / "*")


def _write_config(instance: BrokerInstance) -> None:
    instance.home.mkdir(parents=True, exist_ok=True)
    properties = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{instance.controller_port}",
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{instance.port},CONTROLLER://127.0.0.1:{instance.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{instance.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(instance.data_dir),
        "num.partitions": "6",
        "default.replication.factor": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "6",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "message.max.bytes": "4194304",
        "log.retention.hours": "168",
    }
    instance.config_file.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
    log4j = instance.home / "log4j2.properties"
    log4j.write_text(
        "status = warn\n"
        "appender.file.type = File\n"
        "appender.file.name = file\n"
        f"appender.file.fileName = {instance.log_dir / 'server.log'}\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = info\n"
        "rootLogger.appenderRef.file.ref = file\n"
    )


def _new_cluster_id() -> str:
    """Return a random KRaft cluster id: 16 bytes in URL-safe base64, as Kafka writes them.

    An id that starts with "-" would be read by the storage tool as an option (about one in
    64 ids), so such ids are drawn again.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _format_storage(instance: BrokerInstance) -> None:
    if (instance.data_dir / "meta.properties").exists():
        return
    cluster_id = _new_cluster_id()
    command = [
        _java(), "-cp", _classpath(), "kafka.tools.StorageTool", "format",
        "-t", cluster_id, "-c", str(instance.config_file),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BrokerError(
            f"formatting KRaft storage in {instance.data_dir} failed:\n{result.stderr[-2000:]}"
        )
    log.info("formatted KRaft storage in %s (cluster %s)", instance.data_dir, cluster_id)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _read_pid(instance: BrokerInstance) -> int | None:
    try:
        pid = int(instance.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def _wait_until_ready(instance: BrokerInstance, process: subprocess.Popen | None) -> None:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BrokerError(
                f"broker on port {instance.port} exited with code {process.returncode}; "
                f"see {instance.log_dir / 'server.out'}"
            )
        if _port_open(instance.port):
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=instance.bootstrap, request_timeout_ms=5000
                )
                admin.list_topics()
                admin.close()
                return
            except KafkaError:
                pass
        time.sleep(0.5)
    raise BrokerError(
        f"broker on port {instance.port} not ready after {START_TIMEOUT_SECONDS} s; "
        f"see {instance.log_dir / 'server.log'}"
    )


def start(instance: BrokerInstance | None = None) -> str:
    """Start the broker unless it already runs; safe to repeat. Returns the bootstrap address."""
    instance = instance or BrokerInstance()
    if _read_pid(instance) is not None or _port_open(instance.port):
        _wait_until_ready(instance, None)
        log.info("broker already running on %s", instance.bootstrap)
        return instance.bootstrap
    install_jars()
    _write_config(instance)
    _format_storage(instance)
    instance.log_dir.mkdir(parents=True, exist_ok=True)
    heap = os.environ.get("AGENTAUDIT_KAFKA_HEAP", "-Xms256m -Xmx1g").split()
    command = [
        _java(), *heap, "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={instance.home / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={instance.log_dir}",
        "-cp", _classpath(), "kafka.Kafka", str(instance.config_file),
    ]
    with open(instance.log_dir / "server.out", "ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    instance.pid_file.write_text(str(process.pid))
    log.info("starting broker pid %d on %s", process.pid, instance.bootstrap)
    _wait_until_ready(instance, process)
    log.info("broker ready on %s", instance.bootstrap)
    return instance.bootstrap


def stop(instance: BrokerInstance | None = None, *, kill: bool = False) -> bool:
    """Stop the broker started from this folder; returns False when none was running."""
    instance = instance or BrokerInstance()
    pid = _read_pid(instance)
    if pid is None:
        return False
    os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.2)
    else:
        log.warning("broker pid %d ignored SIGTERM for %d s; killing it", pid, STOP_TIMEOUT_SECONDS)
        os.kill(pid, signal.SIGKILL)
    instance.pid_file.unlink(missing_ok=True)
    log.info("broker pid %d on %s stopped", pid, instance.bootstrap)
    return True


def status(instance: BrokerInstance | None = None) -> dict:
    """Report whether the broker runs, its pid and folders."""
    instance = instance or BrokerInstance()
    return {
        "bootstrap": instance.bootstrap,
        "pid": _read_pid(instance),
        "port_open": _port_open(instance.port),
        "home": str(instance.home),
    }


def reset(instance: BrokerInstance) -> None:
    """Stop the broker and delete its data; for private test brokers."""
    stop(instance, kill=True)
    shutil.rmtree(instance.home, ignore_errors=True)


def ensure_broker(settings: Settings) -> str:
    """Return the bootstrap servers to use, starting the local broker when none is configured."""
    if settings.external_kafka:
        return settings.bootstrap_servers
    host, _, port = settings.bootstrap_servers.rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        return settings.bootstrap_servers
    return start(BrokerInstance(int(port)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Manage the local Kafka broker.")
    parser.add_argument("command", choices=["install", "start", "stop", "status", "reset"])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="client port (default 9092)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    instance = BrokerInstance(args.port)
    try:
        if args.command == "install":
            print(install_jars())
        elif args.command == "start":
            print(start(instance))
        elif args.command == "stop":
            print("stopped" if stop(instance) else "not running")
        elif args.command == "reset":
            reset(instance)
        else:
            print(status(instance))
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
