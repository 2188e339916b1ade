"""`chainbreaker serve` as a user starts it: a real process on a loopback port over a store folder."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx  # the test client of starlette also uses httpx2 (httpx is deprecated there)
import orjson

from chainbreaker.store import save_result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_prints_where_the_token_is_and_answers(tmp_path: Path, doc: dict[str, Any]) -> None:
    save_result(tmp_path, doc, {})
    port = _free_port()
    cmd = [sys.executable, "-m", "chainbreaker", "serve", "--store", str(tmp_path), "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        block = b""
        while not block.endswith(b"}\n"):  # the JSON block print_json writes before serving
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "serve exited"
            block += line
        info = orjson.loads(block)
        assert info["url"] == f"http://127.0.0.1:{port}/"
        assert info["token_file"] == str(tmp_path / "api-token")
        assert info["reads_need_token"] is False
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.2)
        assert health["dialect"] == "sqlite" and health["counts"]["incidents"] == 2
        token = (tmp_path / "api-token").read_text().strip()
        res = httpx.patch(
            f"http://127.0.0.1:{port}/api/incidents/{doc['incidents'][0]['id']}/triage",
            json={"status": "investigating"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert res.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
