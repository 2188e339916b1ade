"""A fake GitHub release API on 127.0.0.1, for the tests of `rules update` (no test reaches the
internet): the `release` fixture of conftest.py serves one per test."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Release:
    """What the fake GitHub serves: path -> (status, body); and which paths were asked for."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        self.base = ""

    def publish(
        self, tag: str, package: bytes, digest: str | None = "auto", name: str = "sigma_core.zip"
    ) -> None:
        asset: dict[str, Any] = {"name": name, "browser_download_url": f"{self.base}/download/{tag}/{name}"}
        if digest == "auto":
            asset["digest"] = "sha256:" + hashlib.sha256(package).hexdigest()
        elif digest is not None:
            asset["digest"] = digest
        body = {"tag_name": tag, "assets": [asset]}
        self.routes["/repos/SigmaHQ/sigma/releases/latest"] = (200, json.dumps(body).encode())
        self.routes[f"/download/{tag}/{name}"] = (200, package)


def serve_release() -> Iterator[Release]:
    """Serve a :class:`Release` from 127.0.0.1 until the generator is closed."""
    state = Release()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            status, body = state.routes.get(self.path, (404, b'{"message": "Not Found"}'))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
