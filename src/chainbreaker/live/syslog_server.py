"""Receiving syslog over UDP and TCP (RFC 5426 / RFC 6587), parsed by the syslog reader's parser.

UDP: one message per datagram. TCP: each connection is either newline-delimited ("non-transparent
framing") or octet-counted (``LEN SP MSG``, RFC 6587 3.4.1); the framing is decided per message
by whether it starts with a digit, as rsyslog and syslog-ng send it. Received lines wait in a
thread-safe queue until the watcher drains them; the servers run on daemon threads.

Syslog has nothing to replay: messages received but not yet committed when the watcher dies are
lost, as with any UDP sender. The event reference of a message is ``syslog+udp://HOST:PORT`` and
a record number that keeps counting across restarts.
"""

from __future__ import annotations

import queue
import socket
import socketserver
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import polars as pl

from chainbreaker.errors import UsageError
from chainbreaker.events import conform
from chainbreaker.readers.syslog import SyslogReader
from chainbreaker.readers.textlines import event_refs

MAX_MESSAGE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    protocol: str  # "udp" or "tcp"
    host: str
    port: int

    @property
    def name(self) -> str:
        return f"syslog+{self.protocol}://{self.host}:{self.port}"


def parse_endpoint(url: str) -> Endpoint:
    """``udp://127.0.0.1:5514`` / ``tcp://0.0.0.0:5514`` -> an :class:`Endpoint`."""
    parts = urlsplit(url)
    if parts.scheme not in ("udp", "tcp") or not parts.hostname or parts.port is None:
        raise UsageError(f"syslog endpoint {url!r}: expected udp://HOST:PORT or tcp://HOST:PORT")
    return Endpoint(parts.scheme, parts.hostname, parts.port)


def split_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete messages at the start of a TCP stream buffer, and the incomplete rest."""
    messages: list[bytes] = []
    while buffer:
        if buffer[:1].isdigit():
            space = buffer.find(b" ")
            if space < 0:
                if len(buffer) > 10:
                    return messages, b""  # junk, not a length: drop it
                break
            length = buffer[:space]
            if length.isdigit():
                size = int(length)
                if len(buffer) < space + 1 + size:
                    break
                messages.append(buffer[space + 1 : space + 1 + size])
                buffer = buffer[space + 1 + size :]
                continue
        end = buffer.find(b"\n")
        if end < 0:
            break
        messages.append(buffer[:end])
        buffer = buffer[end + 1 :]
    return [m.rstrip(b"\r\n") for m in messages if m.strip()], buffer


class SyslogReceiver:
    """Listens on the endpoints; :meth:`drain` returns what arrived since the last call."""

    def __init__(self, endpoints: list[Endpoint]) -> None:
        self.endpoints = endpoints
        self.queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for endpoint in self.endpoints:
            server = self._server(endpoint)
            thread = threading.Thread(target=server.serve_forever, name=endpoint.name, daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)

    def _server(self, endpoint: Endpoint) -> socketserver.BaseServer:
        sink = self.queue
        name = endpoint.name

        class _Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data = self.request[0]
                for line in data.splitlines():
                    if line.strip():
                        sink.put((name, line.decode("utf-8", "replace")))

        class _Tcp(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                buffer = b""
                while chunk := self.request.recv(MAX_MESSAGE):
                    messages, buffer = split_frames(buffer + chunk)
                    for message in messages:
                        sink.put((name, message.decode("utf-8", "replace")))
                messages, _ = split_frames(buffer + b"\n")
                for message in messages:
                    sink.put((name, message.decode("utf-8", "replace")))

        try:
            if endpoint.protocol == "udp":
                udp = socketserver.ThreadingUDPServer((endpoint.host, endpoint.port), _Udp)
                udp.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                return udp
            socketserver.ThreadingTCPServer.allow_reuse_address = True
            tcp = socketserver.ThreadingTCPServer((endpoint.host, endpoint.port), _Tcp)
            tcp.daemon_threads = True
            return tcp
        except OSError as exc:
            raise UsageError(f"cannot listen on {endpoint.name}: {exc}") from exc

    def drain(self) -> dict[str, list[str]]:
        """Lines received per endpoint since the last drain."""
        out: dict[str, list[str]] = {}
        while True:
            try:
                name, line = self.queue.get_nowait()
            except queue.Empty:
                return out
            out.setdefault(name, []).append(line)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


def syslog_batch(lines: list[str], source: str, first_record: int) -> pl.DataFrame:
    """Received lines -> a conformed event batch (lines matching no syslog form are dropped)."""
    now = datetime.now(tz=UTC)
    frame = SyslogReader().parse(lines, now.year, now.month)
    records = pl.int_range(first_record, first_record + len(lines), eager=True, dtype=pl.Int64)
    frame = frame.with_columns(records.alias("__record")).filter(pl.col("__form").is_not_null())
    refs = event_refs(source, frame.get_column("__record"))
    return conform(frame.drop("__form", "__line", "__record").with_columns(refs))
