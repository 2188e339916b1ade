"""Evidence on the public corpora (skipped when ../shared/datasets is absent).

Detection logic never names these corpora's hosts, users or addresses; the tests do, to check
that the logic finds what the corpus documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from chainbreaker.alerts import Alert
from chainbreaker.detect.analytics import AnalyticsDetector, build_analytics
from chainbreaker.readers import read_paths
from chainbreaker.readers.base import ReadReport

Dataset = Callable[[str], Path]
SCANS = ("vertical_port_scan", "horizontal_port_scan", "icmp_host_sweep", "failed_connections")


def analyse(*paths: Path) -> list[Alert]:
    detector = AnalyticsDetector()
    for batch in read_paths(list(paths), ReadReport()):
        detector.observe(batch)
    return detector.finish()


def test_slips_port_scans(dataset: Dataset) -> None:
    scans = dataset("slips") / "slips-dataset" / "dataset" / "port-scans"
    vertical = [a for a in analyse(scans / "vertical") if a.rule_id in SCANS]
    assert [(a.rule_id, a.src_ip, a.dst_ip) for a in vertical] == [
        ("vertical_port_scan", "192.168.1.9", "45.33.32.156")
    ]
    horizontal = [a for a in analyse(scans / "horizontal") if a.rule_id in SCANS]
    assert [(a.rule_id, a.src_ip) for a in horizontal] == [("horizontal_port_scan", "10.0.2.112")]


def test_no_scans_in_ordinary_traffic(dataset: Dataset) -> None:
    root = dataset("slips") / "slips-dataset" / "dataset"
    # test9: 576 connections of web and mail traffic. (test10's notice.log reports address scans whose
    # connections its conn.log does not hold; tests/verdicts checks those notices.)
    alerts = analyse(root / "test9-mixed-zeek-dir")
    assert [a for a in alerts if a.rule_id in SCANS] == []


def test_openssh_brute_force(dataset: Dataset) -> None:
    alerts = analyse(dataset("loghub-auth") / "loghub" / "OpenSSH" / "OpenSSH_2k.log")
    brute = [a for a in alerts if a.rule_id == "brute_force"]
    top = max(brute, key=lambda a: a.count)
    assert (top.src_ip, top.user, top.host) == ("183.62.140.253", "root", "LabSZ")
    assert top.count > 200 and top.killchain_phases and top.event_refs[0].file.endswith("OpenSSH_2k.log")


def folder_hits(root: Path) -> Counter[str]:
    return Counter(a.rule_id for a in analyse(root))


def test_evtx_attack_samples_by_tactic(dataset: Dataset) -> None:
    root = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    tactics = {a.id: set(a.tactics) for a in build_analytics()}
    for folder, tactic, expected in [
        ("Credential Access", "credential-access", {"lsass_access", "dcsync"}),
        (
            "Lateral Movement",
            "lateral-movement",
            {"admin_share_access", "remote_wmi_winrm", "psexec_like_service"},
        ),
        ("Persistence", "persistence", {"wmi_subscription", "autostart_registry", "new_admin_member"}),
    ]:
        hits = folder_hits(root / folder)
        assert expected <= set(hits), (folder, hits)
        assert all(tactic in tactics[i] for i in expected)


def test_otrf_atomic_datasets(dataset: Dataset) -> None:
    root = dataset("otrf-atomic") / "Security-Datasets" / "datasets" / "atomic" / "windows"
    dcsync = analyse(root / "credential_access" / "host" / "empire_dcsync_dcerpc_drsuapi_DsGetNCChanges.zip")
    assert [a.user for a in dcsync if a.rule_id == "dcsync"] == ["pgustavo"]
    dump = Counter(
        a.rule_id for a in analyse(root / "credential_access" / "host" / "psh_lsass_memory_dump_comsvcs.zip")
    )
    assert dump["lsass_access"] == 1 and dump["credential_dump_command"] == 1
    remoting = analyse(root / "lateral_movement" / "host" / "covenant_psremoting_grunt.zip")
    assert any(a.rule_id == "remote_wmi_winrm" and "wsmprovhost.exe" in a.description for a in remoting)
    persistence = folder_hits(root / "persistence")
    assert {"autostart_registry", "new_scheduled_task"} <= set(persistence)


def test_busy_competition_traffic_stays_quiet(dataset: Dataset) -> None:
    """zeek-wrccdc (dns, ssl, http, rdp... but no conn.log): the network analytics stay (almost) silent."""
    alerts = analyse(dataset("zeek-wrccdc"))
    network = {a.id for a in build_analytics() if a.sources & {"zeek.dns", "zeek.http", "zeek.conn"}}
    counts = Counter(a.rule_id for a in alerts if a.rule_id in network)
    assert sum(counts.values()) <= 5, counts
