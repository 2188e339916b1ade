"""Suricata EVE alerts and Zeek notices as alerts: built rows and the real slips corpus."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from chainbreaker.detect.verdicts import VerdictDetector
from chainbreaker.events import conform
from chainbreaker.frameworks import phases_for
from chainbreaker.readers import read_paths
from chainbreaker.readers.base import ReadReport

T = datetime(2024, 5, 1, tzinfo=UTC)


def rows(*items: dict) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            [
                {"timestamp": T, "event_ref": {"file": "eve.json", "record": i + 1}, **r}
                for i, r in enumerate(items)
            ]
        )
    )


def test_suricata_mapping_metadata_family_category() -> None:
    alert = {
        "source": "suricata.alert",
        "src_ip": "10.0.0.5",
        "src_port": 51000,
        "dst_ip": "203.0.113.7",
        "dst_port": 443,
        "alert.gid": "1",
    }
    batch = rows(
        {
            **alert,
            "alert.signature_id": "1",
            "alert.signature": "ET MALWARE Something CnC Beacon",
            "alert.severity": "1",
            "alert.category": "A Network Trojan was detected",
            "alert.metadata.mitre_technique_id": "T1071.001,T1573",
            "alert.metadata.mitre_tactic_id": "TA0011",
        },
        {
            **alert,
            "alert.signature_id": "2",
            "alert.signature": "ET SCAN Nmap Scripting Engine User-Agent Detected",
            "alert.severity": "2",
            "alert.category": "Web Application Attack",
        },
        {
            **alert,
            "alert.signature_id": "3",
            "alert.signature": "Custom rule",
            "alert.severity": "3",
            "alert.category": "Attempted Administrator Privilege Gain",
        },
        {
            **alert,
            "alert.signature_id": "4",
            "alert.signature": "ET POLICY curl User-Agent",
            "alert.severity": "3",
            "alert.category": "Misc activity",
        },
        {"source": "suricata.flow", "src_ip": "10.0.0.5"},
    )
    alerts = VerdictDetector().observe(batch)
    assert [a.rule_id for a in alerts] == ["suricata:1:1", "suricata:1:2", "suricata:1:3", "suricata:1:4"]
    first, scan, exploit, policy = alerts
    assert first.techniques == ("T1071.001", "T1573") and first.tactics == ("command-and-control",)
    assert first.killchain_phases == ("command-and-control",) and first.level.name == "high"
    assert first.detector == "suricata" and first.event_refs[0].record == 1 and first.dst_ip == "203.0.113.7"
    assert (
        scan.killchain_phases[0] == "reconnaissance" and scan.level.name == "medium"
    )  # family beats category
    assert exploit.killchain_phases == ("delivery", "exploitation") and exploit.level.name == "low"
    assert policy.killchain_phases == () and policy.techniques == ()


def test_zeek_notices() -> None:
    batch = rows(
        {
            "source": "zeek.notice",
            "note": "SSH::Password_Guessing",
            "msg": "1.2.3.4 appears to be guessing",
            "src_ip": "1.2.3.4",
        },
        {
            "source": "zeek.notice",
            "note": "Scan::Port_Scan",
            "msg": "scanned 20 ports",
            "sub": "local",
            "src_ip": "10.0.0.9",
        },
        {"source": "zeek.notice", "note": "CaptureLoss::Too_Much_Loss", "msg": "loss"},
    )
    guess, scan, loss = VerdictDetector().observe(batch)
    assert (guess.detector, guess.techniques, guess.tactics) == (
        "zeek-notice",
        ("T1110",),
        ("credential-access",),
    )
    assert guess.killchain_phases == phases_for(("T1110",), ("credential-access",))[0]
    assert guess.description == "1.2.3.4 appears to be guessing" and guess.src_ip == "1.2.3.4"
    assert scan.killchain_phases[0] == "reconnaissance" and scan.description == "scanned 20 ports local"
    assert loss.level.name == "informational" and loss.killchain_phases == ()


def test_real_suricata_and_notices(dataset: Callable[[str], Path]) -> None:
    root = dataset("slips") / "slips-dataset" / "dataset"
    detector = VerdictDetector()
    paths = [root / "test6-malicious.suricata.json", root / "test9-mixed-zeek-dir" / "notice.log"]
    alerts = [a for batch in read_paths(paths, ReadReport()) for a in detector.observe(batch)]
    kinds = Counter(a.detector for a in alerts)
    assert kinds["suricata"] == 745  # every EVE alert of the file
    assert kinds["zeek-notice"] >= 1
    phases = Counter(p for a in alerts if a.detector == "suricata" for p in a.killchain_phases)
    # web exploits are delivered and triggered by one request (frameworks mapping, T1190)
    assert phases["reconnaissance"] > 0 and phases["exploitation"] > 0 and phases["delivery"] > 0
    assert all(
        a.event_refs and a.event_refs[0].file.endswith(("suricata.json", "notice.log")) for a in alerts
    )


def test_zeek_address_scan_notices(dataset: Callable[[str], Path]) -> None:
    """slips test10: Zeek's own scan detector fired; the connections are not in its conn.log."""
    notices = dataset("slips") / "slips-dataset" / "dataset" / "test10-mixed-zeek-dir" / "notice.log"
    detector = VerdictDetector()
    scans = [a for batch in read_paths([notices], ReadReport()) for a in detector.observe(batch)]
    assert len(scans) == 12 and {a.title for a in scans} == {"Scan::Address_Scan"}
    assert all(a.killchain_phases[0] == "reconnaissance" and a.techniques == ("T1046",) for a in scans)
    assert {a.src_ip for a in scans} == {"147.32.83.156"}
