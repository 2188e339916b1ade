"""Pass-4 (d2) correlation rules through the real Sigma detector: a positive and a negative stream.

Reuses the stream helpers of test_shipped_correlation_rules.py (real engine, real rule files).
``CASES`` has the same shape as that module's, so a suite-wide "every correlation has a case"
check can take the union of both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from test_shipped_correlation_rules import names_of, run, security, shipped, stream_tests, sysmon

from chainbreaker.detect.sigma.detector import SigmaDetector
from chainbreaker.readers import ReadReport, read_paths


def kerberos_spray(users: int, ips: int, step: float = 20) -> list[dict[str, Any]]:
    """Names tried one after the other: odd ones exist (bad password, 4771), even ones do not (4768 0x6)."""
    rows = []
    for i in range(users):
        ip = f"10.0.0.{60 + i % ips}"
        where = {"IpAddress": f"::ffff:{ip}", "src_ip": ip}  # as logged, and as the reader normalises it
        if i % 2:
            rows.append(security(i * step, 4771, TargetUserName=f"user{i}", Status="0x18", **where))
        else:
            rows.append(security(i * step, 4768, TargetUserName=f"guess{i}", Status="0x6", **where))
    return rows


def tickets_issued(users: int) -> list[dict[str, Any]]:
    """Successful TGT requests for many accounts from one address (a terminal server at 9:00)."""
    return [
        security(i * 10, 4768, TargetUserName=f"user{i}", IpAddress="10.0.0.60", Status="0x0")
        for i in range(users)
    ]


def ipc_sweep(hosts: int, sources: int) -> list[dict[str, Any]]:
    """A user opens IPC$ on one host after another (5140 collected from every host)."""
    rows = []
    for i in range(hosts):
        host = f"SRV-{i:02d}"
        rows.append(
            security(
                i * 15,
                5140,
                host=host,
                Computer=host,
                ShareName="\\\\*\\IPC$",
                SubjectUserName="jdoe",
                IpAddress=f"10.0.0.{60 + i % sources}",
            )
        )
    return rows


def smb_sweep(targets: int, step: float = 5) -> list[dict[str, Any]]:
    """The SMB client of one workstation connects to 24 connections over ``targets`` addresses."""
    return [
        sysmon(
            i * step,
            3,
            Image="System",
            Initiated="true",
            DestinationIp=f"10.1.4.{10 + i % targets}",
            DestinationPort="445",
        )
        for i in range(24)
    ]


CASES: dict[str, tuple[Callable[[], list[dict[str, Any]]], Callable[[], list[dict[str, Any]]]]] = {
    # Six names (three unknown, three bad passwords) from one address -> fires; the same spread
    # over two addresses (three each) -> does not.
    "kerberos_password_spraying": (lambda: kerberos_spray(6, 1), lambda: kerberos_spray(6, 2)),
    # Twelve hosts from one address -> fires; the same twelve from three addresses -> does not.
    "ipc_share_sweep_from_one_source": (lambda: ipc_sweep(12, 1), lambda: ipc_sweep(12, 3)),
    # Twenty-four addresses within two minutes -> fires; a file-server client reusing five -> does not.
    "smb_connection_sweep": (lambda: smb_sweep(24), lambda: smb_sweep(5)),
}


test_positive_stream_fires, test_negative_stream_does_not_fire = stream_tests(CASES)


def test_kerberos_spray_alert_is_credential_access() -> None:
    alert = names_of(run(kerberos_spray(6, 1)))["kerberos_password_spraying"][0]
    assert "T1110.003" in alert.techniques and "credential-access" in alert.tactics


def test_kerberos_spray_counts_mapped_and_plain_addresses_of_one_client(tmp_path: Path) -> None:
    """Through the real Windows JSON reader: a DC logs some failures from ``::ffff:10.0.0.60`` and
    some from ``10.0.0.60`` (one client); the normalised address groups them into one spray."""
    lines = []
    for i in range(6):
        event_id, status = (4771, "0x18") if i % 2 else (4768, "0x6")
        address = "::ffff:10.0.0.60" if i % 3 else "10.0.0.60"
        stamp = f"2024-05-02T22:{i * 20 // 60:02d}:{i * 20 % 60:02d}Z"  # one every 20 s
        lines.append(
            json.dumps(
                {
                    "Event": {
                        "System": {
                            "EventID": event_id,
                            "Channel": "Security",
                            "Computer": "dc01.example.org",
                            "EventRecordID": i + 1,
                            "TimeCreated": {"#attributes": {"SystemTime": stamp}},
                        },
                        "EventData": {"TargetUserName": f"name{i}", "IpAddress": address, "Status": status},
                    }
                }
            )
        )
    (tmp_path / "security.jsonl").write_text("\n".join(lines) + "\n")
    batches = list(read_paths([tmp_path], ReadReport(), workers=1))
    ruleset, correlations = shipped()
    detector = SigmaDetector(ruleset.rules, list(correlations), min_rows=1)
    alerts = [a for b in batches for a in detector.observe(b)] + detector.finish()
    sprays = names_of(alerts).get("kerberos_password_spraying", [])
    assert len(sprays) == 1


def test_kerberos_failures_slower_than_the_window_do_not_fire() -> None:
    # Six names, one every three minutes: never five inside ten minutes.
    assert "kerberos_password_spraying" not in names_of(run(kerberos_spray(6, 1, step=180)))


def test_successful_tickets_do_not_count() -> None:
    assert "kerberos_password_spraying" not in names_of(run(tickets_issued(8)))


def test_smb_sweep_slower_than_the_window_does_not_fire() -> None:
    # Twenty-four hosts, one every thirty seconds: at most ten inside five minutes.
    assert "smb_connection_sweep" not in names_of(run(smb_sweep(24, step=30)))


def test_unknown_account_feeder_stays_silent() -> None:
    alerts = run(kerberos_spray(2, 1))
    assert not any(a.title == "Kerberos TGT Requested for an Account That Does Not Exist" for a in alerts)
