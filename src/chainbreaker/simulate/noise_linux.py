"""Benign activity on the Linux admin/monitoring server, as auth.log lines (RFC 3164).

sshd sessions from admins' workstations with a few sudo commands, and hourly cron sessions.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from functools import partial

from chainbreaker.simulate import network as net
from chainbreaker.simulate.model import Environment, Host, Label, SimConfig
from chainbreaker.simulate.telemetry import Telemetry
from chainbreaker.simulate.timefmt import syslog_ts

Activity = tuple[float, Callable[[Telemetry], None]]


def _run_kind(
    kind: Callable[[Telemetry, Host, float, random.Random], None],
    host: Host,
    at: float,
    rng: random.Random,
    tel: Telemetry,
) -> None:
    kind(tel, host, at, rng)


def linux_source(host: Host, env: Environment, config: SimConfig, rng: random.Random) -> Iterator[Activity]:
    """sshd sessions from admins' workstations with a few sudo commands; hourly cron sessions."""
    admins = [h for h in env.windows_hosts if h.role == "workstation"][:3]
    t, end = config.start_ts, config.end_ts
    next_cron = t + rng.uniform(0, 3600)
    rate = max(config.noise / 3600.0 / 10, 1e-9)
    next_ssh = t + rng.expovariate(rate)
    while min(next_cron, next_ssh) < end:
        if next_cron <= next_ssh:
            at = next_cron
            yield at, partial(_run_kind, _cron, host, at, rng)
            next_cron += 3600
        else:
            at = next_ssh
            src = rng.choice(admins)
            yield at, partial(_run_ssh, host, src, at, rng)
            next_ssh += rng.expovariate(rate)


def _run_ssh(host: Host, src: Host, at: float, rng: random.Random, tel: Telemetry) -> None:
    _ssh(tel, host, src, at, rng)


def syslog(
    tel: Telemetry,
    host: Host,
    t: float,
    program: str,
    pid: int | None,
    message: str,
    label: Label | None = None,
) -> None:
    tag = f"{program}[{pid}]" if pid is not None else program
    tel.emit(
        t,
        ("syslog", f"linux/{host.name}/auth.log"),
        host.name,
        f"{syslog_ts(t)} {host.name} {tag}: {message}",
        label,
    )


def _cron(tel: Telemetry, host: Host, t: float, rng: random.Random) -> None:
    pid = rng.randrange(2000, 60000)
    syslog(
        tel, host, t, "CRON", pid, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
    )
    syslog(
        tel,
        host,
        t + rng.uniform(0.5, 3),
        "CRON",
        pid,
        "pam_unix(cron:session): session closed for user root",
    )


def _ssh(tel: Telemetry, host: Host, src: Host, t: float, rng: random.Random) -> None:
    pid = rng.randrange(2000, 60000)
    user = "opsadmin"
    port = tel.port(src)
    fp = "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(43)
    )
    net.connect(
        tel,
        t,
        src,
        host.ip,
        22,
        src_port=port,
        service="ssh",
        duration=rng.uniform(60, 900),
        orig_bytes=rng.randrange(3000, 40000),
        resp_bytes=rng.randrange(5000, 90000),
        sysmon=False,
    )
    syslog(
        tel,
        host,
        t + 0.2,
        "sshd",
        pid,
        f"Accepted publickey for {user} from {src.ip} port {port} ssh2: ED25519 SHA256:{fp}",
    )
    syslog(
        tel,
        host,
        t + 0.21,
        "sshd",
        pid,
        f"pam_unix(sshd:session): session opened for user {user}(uid=1001) by (uid=0)",
    )
    for i in range(rng.randrange(0, 3)):
        cmd = rng.choice(
            (
                "/usr/bin/systemctl status prometheus",
                "/usr/bin/journalctl -u nginx --since today",
                "/usr/bin/apt list --upgradable",
                "/usr/bin/df -h",
            )
        )
        at = t + 5 + 20 * i
        syslog(
            tel, host, at, "sudo", None, f"{user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND={cmd}"
        )
        syslog(
            tel,
            host,
            at + 0.01,
            "sudo",
            None,
            f"pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid=1001)",
        )
        syslog(tel, host, at + 1.5, "sudo", None, "pam_unix(sudo:session): session closed for user root")
    syslog(
        tel,
        host,
        t + 50,
        "sshd",
        pid,
        f"Received disconnect from {src.ip} port {port}:11: disconnected by user",
    )
    syslog(tel, host, t + 50.01, "sshd", pid, f"pam_unix(sshd:session): session closed for user {user}")
