"""`chainbreaker watch` as a process: files and syslog in, incidents in the store, exactly once."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from subprocess import Popen
from typing import Any

import orjson
from live_helpers import accepted_line, failed_line, free_port, wait_for

from chainbreaker.live import load_state
from chainbreaker.store import Store

Start = Callable[..., "Popen[bytes]"]


def _incident_hosts(store: Path) -> set[str]:
    if not store.exists():
        return set()
    try:
        with Store(store) as handle:
            return {h for row in handle.incidents() for h in row["hosts"] or []}
    except Exception:  # the watcher may be creating the store right now
        return set()


def _events(state: Path) -> int:
    try:
        return load_state(state).total_events
    except Exception:
        return 0


def test_appended_lines_and_syslog_become_incidents_within_seconds(
    tmp_path: Path, start_watch: Start
) -> None:
    logs, store, state = tmp_path / "logs", tmp_path / "store", tmp_path / "state"
    logs.mkdir()
    (logs / "auth.log").write_text(accepted_line(1))
    udp, tcp = free_port(socket.SOCK_DGRAM), free_port()
    proc = start_watch(
        str(logs), "--state", str(state), "--store", str(store),
        "--syslog", f"udp://127.0.0.1:{udp}", "--syslog", f"tcp://127.0.0.1:{tcp}",
    )  # fmt: skip
    assert wait_for(lambda: _events(state) >= 1), proc.stderr
    with (logs / "auth.log").open("a") as fh:
        fh.write(failed_line(2, "filehost"))
    (logs / "new.log").write_text(failed_line(3, "newfilehost"))  # a file created while watching
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"<38>" + failed_line(4, "udphost").encode().strip(), ("127.0.0.1", udp))
    body = b"<38>1 2024-03-01T10:02:00Z tcphost sshd 7 - - Failed password for mallory from 10.0.0.7 port 22"
    with socket.create_connection(("127.0.0.1", tcp)) as s:
        s.sendall(str(len(body)).encode() + b" " + body + b"<38>" + accepted_line(5).encode())
    wanted = {"filehost", "newfilehost", "udphost", "tcphost"}
    assert wait_for(lambda: wanted <= _incident_hosts(store), 60), _incident_hosts(store)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    state_now = load_state(state)
    assert state_now.total_events == 6
    assert len(state_now.alerts) == 4
    assert state_now.events[str(logs / "auth.log")] == 2


def _line(n: int) -> str:
    return failed_line(n) if n % 3 == 0 else accepted_line(n)


def _writer(path: Path, first: int, total: int, pause: float) -> None:
    for n in range(first, total):
        with path.open("a") as fh:
            fh.write(_line(n))
        if n % 10 == 9:
            threading.Event().wait(pause)


def test_sigkill_mid_stream_then_restart_counts_every_event_exactly_once(
    tmp_path: Path, start_watch: Start
) -> None:
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    log = logs / "auth.log"
    log.write_text("".join(_line(n) for n in range(30)))
    total = 800
    proc = start_watch(str(logs), "--state", str(state))
    assert wait_for(lambda: _events(state) >= 30, 60)  # running: now stream while it reads
    writer = threading.Thread(target=_writer, args=(log, 30, total, 0.1))
    writer.start()
    assert wait_for(lambda: _events(state) >= 100, 60)
    os.kill(proc.pid, signal.SIGKILL)  # no chance to save anything
    proc.wait(timeout=30)
    killed_at = _events(state)
    writer.join()
    assert 100 <= killed_at < total  # killed mid-stream
    restarted = start_watch(str(logs), "--state", str(state))
    assert wait_for(lambda: _events(state) >= total, 90)
    restarted.send_signal(signal.SIGTERM)
    restarted.communicate(timeout=60)
    final = load_state(state)
    assert final.total_events == total  # nothing skipped, nothing read twice
    refs = [ref.record for alert in final.alerts for ref in alert.event_refs]
    assert sorted(refs) == [n + 1 for n in range(total) if n % 3 == 0]  # line numbers of the failures


def test_rotation_by_rename_and_by_truncation(tmp_path: Path, start_watch: Start) -> None:
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    log = logs / "auth.log"
    log.write_text("".join(failed_line(n) for n in range(5)))
    proc = start_watch(str(logs), "--state", str(state))
    assert wait_for(lambda: _events(state) == 5)
    log.rename(logs / "auth.log.1")  # logrotate: move away, start a new file
    log.write_text("".join(failed_line(n) for n in range(5, 8)))
    assert wait_for(lambda: _events(state) == 8)
    with (logs / "auth.log.1").open("a") as fh:  # late writes to the rotated file are still read
        fh.write(failed_line(8))
    assert wait_for(lambda: _events(state) == 9)
    log.write_text(failed_line(9))  # copytruncate: same inode, shorter
    assert wait_for(lambda: _events(state) == 10)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    final = load_state(state)
    assert final.total_events == 10
    assert len({a.id for a in final.alerts}) == len(final.alerts) == 10


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Hook.received.append(orjson.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_new_and_escalated_incidents_are_posted_to_the_webhook(tmp_path: Path, start_watch: Start) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    (logs / "auth.log").write_text(failed_line(1, "hookhost"))
    url = f"http://127.0.0.1:{server.server_port}/hook"
    proc = start_watch(str(logs), "--state", str(state), "--webhook", url)
    try:
        assert wait_for(lambda: len(_Hook.received) >= 1, 60)
        first = _Hook.received[0]
        assert first["event"] == "incident" and "hookhost" in first["incident"]["hosts"]
        assert wait_for(lambda: _events(state) == 1)
        with (logs / "auth.log").open("a") as fh:
            fh.write(accepted_line(2, "hookhost"))  # no alert: nothing new to post
        assert wait_for(lambda: _events(state) == 2)
        assert len(_Hook.received) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        server.shutdown()
