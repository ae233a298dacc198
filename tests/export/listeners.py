"""Real receivers on 127.0.0.1 for the export tests: an HTTP server that records requests
and fails on demand (also serving the Splunk HEC ack endpoint), and syslog listeners."""

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    accepted: bool


class _Handler(BaseHTTPRequestHandler):
    server: RecordingHttpServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return None

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        owner = self.server.owner
        if self.path.startswith("/services/collector/ack"):
            self._answer(200, owner.ack_reply(body))
            return
        action = owner.next_action(self.path, body)
        headers = {key.lower(): value for key, value in self.headers.items()}
        kind = action[0]
        owner.record(RecordedRequest(self.path, headers, body, accepted=kind == "ok"))
        if kind == "drop":
            self.close_connection = True
            return
        if kind == "slow":
            time.sleep(action[1])
            self._answer(200, b'{"text":"Success","code":0}')
            return
        if kind == "status":
            self._answer(action[1], json.dumps({"text": "scripted failure", "code": 8}).encode())
            return
        self._answer(200, owner.success_reply())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass


class RecordingHttpServer:
    """Records every POST; `script` contains actions for the next requests, then all succeed.

    Actions: ("ok",), ("status", code), ("slow", seconds) and ("drop",). A request
    counts as accepted only when it got a success response in time. A slow response is
    not accepted: this receiver models one that commits only when its answer reaches the
    client, whereas a real Splunk may index such a request, so the sender duplicates it.
    `reject` is an optional predicate on the body that answers 400 for matching requests,
    whatever the script.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.script: deque[tuple] = deque()
        self.reject = None
        self.ack_enabled = False
        self.acks_after_polls = 0
        self._next_ack_id = 0
        self._ack_polls: dict[int, int] = {}
        self.ack_requests = 0
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def start(self) -> RecordingHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_action(self, path: str, body: bytes) -> tuple:
        with self._lock:
            if self.reject is not None and self.reject(body):
                return ("status", 400)
            return self.script.popleft() if self.script else ("ok",)

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def success_reply(self) -> bytes:
        with self._lock:
            if not self.ack_enabled:
                return b'{"text":"Success","code":0}'
            ack_id = self._next_ack_id
            self._next_ack_id += 1
            self._ack_polls[ack_id] = 0
        return json.dumps({"text": "Success", "code": 0, "ackId": ack_id}).encode()

    def ack_reply(self, body: bytes) -> bytes:
        requested = json.loads(body)["acks"]
        answer = {}
        with self._lock:
            self.ack_requests += 1
            for ack_id in requested:
                polls = self._ack_polls.get(ack_id)
                if polls is None:
                    answer[str(ack_id)] = False
                    continue
                self._ack_polls[ack_id] = polls + 1
                answer[str(ack_id)] = polls + 1 > self.acks_after_polls
        return json.dumps({"acks": answer}).encode()

    def accepted(self, path_prefix: str = "") -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.accepted and r.path.startswith(path_prefix)]


class _TcpSyslogHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data = b""
        while chunk := self.request.recv(65536):
            data += chunk
        self.server.owner.add_stream(data)  # type: ignore[attr-defined]


class _UdpSyslogHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.owner.add_datagram(self.request[0])  # type: ignore[attr-defined]


class SyslogListener:
    """Collects raw TCP streams (one per connection) or UDP datagrams."""

    def __init__(self, protocol: str) -> None:
        server_class = (
            socketserver.ThreadingTCPServer if protocol == "tcp" else socketserver.UDPServer
        )
        handler = _TcpSyslogHandler if protocol == "tcp" else _UdpSyslogHandler
        self.protocol = protocol
        self._server = server_class(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._server.owner = self  # type: ignore[attr-defined]
        self._lock = threading.Lock()
        self.streams: list[bytes] = []
        self.datagrams: list[bytes] = []
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> SyslogListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_stream(self, data: bytes) -> None:
        with self._lock:
            self.streams.append(data)

    def add_datagram(self, data: bytes) -> None:
        with self._lock:
            self.datagrams.append(data)

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        """Wait until `count` streams or datagrams arrived; a guard against hangs only."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.streams) + len(self.datagrams) >= count:
                    return
            time.sleep(0.01)
        raise AssertionError(f"expected {count} syslog deliveries on port {self.port}")


def closed_port() -> int:
    """Return a loopback port with no listener, so connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """Create a certificate and key for 127.0.0.1 with openssl; return (cert, key) paths."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
