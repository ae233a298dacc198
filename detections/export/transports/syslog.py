"""Syslog over TCP (RFC 6587 octet counting, one connection per batch) or UDP (RFC 5426)."""

from __future__ import annotations

import socket
from collections.abc import Sequence

from detections.export.errors import PermanentDeliveryError, TransientDeliveryError
from detections.export.formats.syslog import octet_counted

# The largest UDP payload over IPv4.
MAX_UDP_PAYLOAD = 65_507


class TcpSyslogTransport:
    """Writes a batch over one TCP connection, so a broken connection fails the whole batch.

    Syslog has no acknowledgement, and a completed `sendall` only means the local kernel
    took the bytes. After sending, the transport half-closes the connection and waits for
    the receiver to close its side. A receiver closes only after it has read up to our end
    of stream, so a dead or stuck receiver fails the batch, which is retried later.
    """

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def send(self, records: Sequence[bytes]) -> None:
        frames = b"".join(octet_counted(record) for record in records)
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(frames)
                sock.shutdown(socket.SHUT_WR)
                while sock.recv(4096):
                    pass  # a syslog receiver sends nothing back; drain until it closes
        except OSError as exc:
            raise TransientDeliveryError(
                f"syslog TCP send to {self.host}:{self.port} failed: {exc}"
            ) from exc

    def close(self) -> None:
        return None


class UdpSyslogTransport:
    """Sends one datagram per message. UDP has no acknowledgement: a handed-off datagram
    counts as sent, and only errors the local stack reports are retried."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def send(self, records: Sequence[bytes]) -> None:
        for record in records:
            if len(record) > MAX_UDP_PAYLOAD:
                raise PermanentDeliveryError(
                    f"syslog message of {len(record)} bytes exceeds the UDP maximum of "
                    f"{MAX_UDP_PAYLOAD}; use protocol: tcp for this sink"
                )
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect((self.host, self.port))
                for record in records:
                    sock.send(record)
        except OSError as exc:
            raise TransientDeliveryError(
                f"syslog UDP send to {self.host}:{self.port} failed: {exc}"
            ) from exc

    def close(self) -> None:
        return None
