"""Every shipped correlation rule, run through the real Sigma detector on a positive and a negative stream.

Streams are built here from the technique (N failures within the window, distinct accounts from one
source, ...); base rules match them in the engine and the correlations evaluate at finish().
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sigma.correlations import SigmaCorrelationRule

from chainbreaker.alerts import Alert
from chainbreaker.detect.sigma.detector import SigmaDetector
from chainbreaker.detect.sigma.loader import load_correlations, load_rules
from chainbreaker.detect.sigma.rules import RuleSet
from chainbreaker.events import conform

RULES = Path(str(resources.files("chainbreaker") / "rules"))
T0 = datetime(2024, 5, 2, 22, 0, tzinfo=UTC)
SYSMON = {"source": "windows.sysmon", "channel": "Microsoft-Windows-Sysmon/Operational"}
SECURITY = {"source": "windows.security", "channel": "Security"}


@lru_cache(maxsize=1)
def shipped() -> tuple[RuleSet, tuple[SigmaCorrelationRule, ...]]:
    ruleset = load_rules([RULES], use_cache=False)
    return ruleset, tuple(load_correlations(ruleset.correlation_files))


def run(rows: list[dict[str, Any]]) -> list[Alert]:
    ruleset, correlations = shipped()
    detector = SigmaDetector(ruleset.rules, list(correlations), min_rows=1)
    records = [
        {"event_ref": {"file": "stream", "record": i + 1}, "host": "WKS-01", **row}
        for i, row in enumerate(rows)
    ]
    batch = conform(pl.DataFrame(records, infer_schema_length=None))
    return detector.observe(batch) + detector.finish()


def at(seconds: float, **fields: Any) -> dict[str, Any]:
    return {"timestamp": T0 + timedelta(seconds=seconds), **fields}


def security(seconds: float, event_id: int, **fields: Any) -> dict[str, Any]:
    return at(seconds, **SECURITY, event_code=event_id, EventID=str(event_id), Channel="Security", **fields)


def sysmon(seconds: float, event_id: int, host: str = "WKS-01", **fields: Any) -> dict[str, Any]:
    return at(
        seconds, **SYSMON, event_code=event_id, EventID=str(event_id), host=host, Computer=host, **fields
    )


def sshd(seconds: float, ip: str, text: str) -> dict[str, Any]:
    return at(
        seconds, source="linux.auth", channel="sshd", provider="sshd", host="web-01", src_ip=ip, message=text
    )


def failures(n: int, user: str = "jdoe", step: float = 20) -> list[dict[str, Any]]:
    return [
        security(i * step, 4625, TargetUserName=user, IpAddress="10.0.0.66", LogonType="3") for i in range(n)
    ]


def spray(users: int, sources: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(users):
        ip = f"10.0.0.{60 + i % sources}"
        if i % 2:
            rows.append(security(i * 30, 4771, TargetUserName=f"user{i}", IpAddress=ip, Status="0x18"))
        else:
            rows.append(security(i * 30, 4625, TargetUserName=f"user{i}", IpAddress=ip, LogonType="3"))
    return rows


def console_failures(users: int) -> list[dict[str, Any]]:
    """Mistyped console passwords on many machines: 4625 from the loopback address, not a spray."""
    return [
        security(i * 30, 4625, TargetUserName=f"user{i}", IpAddress="127.0.0.1", LogonType="2")
        for i in range(users)
    ]


def tickets(services: int, encryption: str) -> list[dict[str, Any]]:
    return [
        security(
            i * 10,
            4769,
            TargetUserName="jdoe@CORP",
            ServiceName=f"svc_{i}",
            TicketEncryptionType=encryption,
            Status="0x0",
        )
        for i in range(services)
    ]


def discovery(hosts: list[str]) -> list[dict[str, Any]]:
    commands = [
        ("whoami.exe", "whoami /all"),
        ("ipconfig.exe", "ipconfig /all"),
        ("nltest.exe", "nltest /domain_trusts"),
    ]
    return [
        sysmon(i * 60, 1, host=h, Image=f"C:\\Windows\\System32\\{img}", CommandLine=cmd)
        for i, ((img, cmd), h) in enumerate(zip(commands, hosts, strict=True))
    ]


def notes(step: float) -> list[dict[str, Any]]:
    return [
        sysmon(
            i * step,
            11,
            Image="C:\\Users\\a\\AppData\\Local\\Temp\\x.exe",
            TargetFilename=f"C:\\Shares\\d{i}\\HOW_TO_DECRYPT.txt",
        )
        for i in range(5)
    ]


def writes(images: int) -> list[dict[str, Any]]:
    return [
        sysmon(
            i * 0.5,
            11,
            Image=f"C:\\Users\\a\\AppData\\Local\\Temp\\w{i % images}.exe",
            TargetFilename=f"C:\\Users\\a\\Documents\\f{i}.docx.enc",
        )
        for i in range(100)
    ]


def ssh_failures(ips: int) -> list[dict[str, Any]]:
    return [
        sshd(
            i * 5,
            f"198.51.100.{10 + i % ips}",
            f"Failed password for root from 198.51.100.{10 + i % ips} port 4{i:04d} ssh2",
        )
        for i in range(10)
    ]


def backup_registry(registry_session: str) -> list[dict[str, Any]]:
    """A Backup Operators logon (backup privilege, no debug privilege), then winreg over IPC$."""
    return [
        security(
            0,
            4672,
            SubjectUserName="backup-svc",
            SubjectLogonId="0x5a1f",
            PrivilegeList="SeBackupPrivilege\r\n\t\t\tSeRestorePrivilege",
        ),
        security(
            2,
            5145,
            SubjectUserName="backup-svc",
            SubjectLogonId=registry_session,
            ShareName="\\\\*\\IPC$",
            RelativeTargetName="winreg",
        ),
    ]


PIPES = ["srvsvc", "wkssvc", "samr", "lsarpc", "winreg", "svcctl", "atsvc", "epmapper", "eventlog", "ntsvcs"]


def pipe_probe(distinct: int) -> list[dict[str, Any]]:
    """Twelve remote pipe connections through the SMB server (image System) over distinct pipes."""
    return [
        sysmon(i * 2, 18, EventType="ConnectPipe", Image="System", PipeName="\\" + PIPES[i % distinct])
        for i in range(12)
    ]


CASES: dict[str, tuple[Callable[[], list[dict[str, Any]]], Callable[[], list[dict[str, Any]]]]] = {
    "windows_brute_force_account": (lambda: failures(10), lambda: failures(10, step=40)),
    "windows_password_spraying": (lambda: spray(10, 1), lambda: spray(10, 2) + console_failures(12)),
    "windows_brute_force_then_logon": (
        lambda: (
            [*failures(10), security(400, 4624, TargetUserName="JDOE", IpAddress="10.0.0.66", LogonType="3")]
        ),
        lambda: (
            [*failures(10), security(400, 4624, TargetUserName="other", IpAddress="10.0.0.66", LogonType="3")]
        ),
    ),
    "kerberoasting_volume": (lambda: tickets(5, "0x17"), lambda: tickets(5, "0x12")),
    "discovery_command_burst": (
        lambda: discovery(["WKS-01"] * 3),
        lambda: discovery(["WKS-01", "WKS-02", "WKS-03"]),
    ),
    "ransom_note_spread": (lambda: notes(30), lambda: notes(120)),
    "mass_file_write": (lambda: writes(1), lambda: writes(2)),
    "ssh_brute_force_source": (lambda: ssh_failures(1), lambda: ssh_failures(10)),
    # Same logon session -> fires; the registry opened from another session -> does not.
    "backup_operator_remote_registry": (lambda: backup_registry("0x5a1f"), lambda: backup_registry("0x77c0")),
    # Ten different pipes within a minute -> fires; a console reusing six pipes -> does not.
    "remote_named_pipe_enumeration": (lambda: pipe_probe(10), lambda: pipe_probe(6)),
    "ssh_brute_force_then_login": (
        lambda: (
            [
                *ssh_failures(1),
                sshd(120, "198.51.100.10", "Accepted password for root from 198.51.100.10 port 41000 ssh2"),
            ]
        ),
        lambda: (
            [
                *ssh_failures(1),
                sshd(120, "203.0.113.5", "Accepted password for root from 203.0.113.5 port 41000 ssh2"),
            ]
        ),
    ),
}


def names_of(alerts: list[Alert]) -> dict[str, list[Alert]]:
    by_id = {str(c.id): c.name for c in shipped()[1]}
    out: dict[str, list[Alert]] = {}
    for alert in alerts:
        if alert.detector == "sigma-correlation":
            out.setdefault(by_id.get(alert.rule_id) or alert.rule_id, []).append(alert)
    return out


def test_every_shipped_correlation_has_a_case() -> None:
    """Here or in a test_correlation_*.py module beside this one (same CASES shape), once each."""
    names = list(CASES)
    for path in sorted(Path(__file__).parent.glob("test_correlation_*.py")):
        names += list(importlib.import_module(path.stem).CASES)
    assert len(names) == len(set(names)), "a correlation has cases in two modules"
    outer = {c.name for c in shipped()[1] if c.level is not None}
    assert outer == set(names)


Streams = Callable[[], list[dict[str, Any]]]


def stream_tests(cases: dict[str, tuple[Streams, Streams]]) -> tuple[Callable[[str], None], ...]:
    """The two tests every correlation gets, for a module's ``CASES``: its positive stream raises
    exactly one alert of the rule, its negative stream none (the test_correlation_*.py modules
    take them with ``test_positive_stream_fires, test_negative_stream_does_not_fire = ...``)."""

    @pytest.mark.parametrize("name", sorted(cases))
    def test_positive_stream_fires(name: str) -> None:
        alerts = names_of(run(cases[name][0]()))
        assert len(alerts.get(name, [])) == 1, alerts.keys()

    @pytest.mark.parametrize("name", sorted(cases))
    def test_negative_stream_does_not_fire(name: str) -> None:
        assert name not in names_of(run(cases[name][1]()))

    return test_positive_stream_fires, test_negative_stream_does_not_fire


test_positive_stream_fires, test_negative_stream_does_not_fire = stream_tests(CASES)


def test_feeding_rules_stay_silent_and_chain_steps_do_not_alert() -> None:
    alerts = run(CASES["windows_brute_force_then_logon"][0]())
    titles = {a.title for a in alerts}
    assert "Failed Logon" not in titles and "Successful Network or Remote Interactive Logon" not in titles
    assert not any("step" in a.title for a in alerts)
    chained = next(a for a in alerts if a.level.name == "critical")
    assert chained.count == 11 and chained.user == "JDOE"
    assert "T1110" in chained.techniques and "credential-access" in chained.tactics
