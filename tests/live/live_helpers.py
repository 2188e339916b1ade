"""Helpers of the live-mode tests: a rule, log lines, free ports, waiting."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

RULE = """title: Test SSH failed password
id: 5f1f0a52-6d0e-4b64-9d5e-1f0b0c2a7a01
status: test
level: high
logsource:
  product: linux
  service: sshd
detection:
  sel:
    message|contains: 'Failed password'
  condition: sel
tags:
  - attack.credential-access
  - attack.t1110
"""


def _header(n: int, host: str) -> str:
    return f"Mar  1 10:{n // 60 % 60:02d}:{n % 60:02d} {host} sshd[{1000 + n}]:"


def failed_line(n: int, host: str = "web1") -> str:
    return f"{_header(n, host)} Failed password for root from 10.0.0.{n % 250 + 1} port 22 ssh2\n"


def accepted_line(n: int, host: str = "web1") -> str:
    return f"{_header(n, host)} Accepted publickey for alice from 10.0.1.{n % 250 + 1} port 22 ssh2\n"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], seconds: float = 60.0, step: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()
