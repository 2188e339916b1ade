"""What ``chainbreaker serve`` is configured with: the store, where hunts may read, upload limits."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from chainbreaker.errors import UsageError

#: Largest upload accepted by default (bytes); ``serve --max-upload-mb`` changes it.
DEFAULT_MAX_UPLOAD = 200 * 1024 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class WebSettings:
    store: str  # a resolved store target: an SQLite file or a postgresql:// URL
    data_dir: Path  # holds the API token (0600), uploads and job folders
    allowed_root: Path | None = None  # server-side paths a hunt may read; None: none at all
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    host: str = "127.0.0.1"
    read_needs_token: bool = False  # reads need the token too (forced when not bound to loopback)
    hunt_timeout_s: float = 6 * 3600

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1:
            raise UsageError("the upload limit must be positive")
        if self.allowed_root is not None and not self.allowed_root.is_dir():
            raise UsageError(f"allowed root {self.allowed_root} is not a folder")
        if not is_loopback(self.host):
            object.__setattr__(self, "read_needs_token", True)

    @property
    def token_file(self) -> Path:
        return self.data_dir / "api-token"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"
