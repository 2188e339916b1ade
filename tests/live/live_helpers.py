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


def ssh_failure(n: int, source: str = "203.0.113.7", host: str = "bastion") -> str:
    """A failed SSH password from one ``source``, ``n`` seconds after 10:00:00."""
    return f"{_header(n, host)} Failed password for invalid user admin from {source} port {40000 + n} ssh2\n"


ZEEK_CONN_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
    "orig_bytes\tresp_bytes\tconn_state\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\n"
)


def zeek_probe(n: int, scanner: str = "10.1.2.3", target: str = "10.1.2.9") -> str:
    """A Zeek conn record: ``scanner`` probing port 1000+n of ``target`` (no answer or refused)."""
    state = "S0" if n % 2 else "REJ"
    return (
        f"{1709287200 + n}.000000\tC{n:06d}\t{scanner}\t{40000 + n}\t{target}\t{1000 + n}\ttcp\t-\t-\t0\t0\t"
        f"{state}\n"
    )
