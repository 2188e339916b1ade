"""EntityLearner on batches built here (each learning source) and on real EVTX samples."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import polars as pl

from chainbreaker.correlate import EntityLearner, EntityLinks
from chainbreaker.correlate.entities import normalise_address, normalise_host
from chainbreaker.events import conform

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def test_sysmon_network_connections_tell_which_side_is_local() -> None:
    batch = conform(
        pl.DataFrame(
            {
                "timestamp": [T0, T0, T0],
                "source": ["windows.sysmon"] * 3,
                "host": ["WKS-07.corp.example", "SRV-02", "SRV-02"],
                "event_code": [3, 3, 1],
                "Initiated": ["true", "false", None],
                "SourceIp": ["10.1.1.7", "10.1.1.7", "10.9.9.9"],
                "DestinationIp": ["10.1.1.20", "10.1.1.20", "10.9.9.10"],
            }
        )
    )
    learner = EntityLearner()
    assert learner.observe(batch) == 2
    assert learner.links.pairs() == [("10.1.1.20", "srv-02", 1), ("10.1.1.7", "wks-07", 1)]
    assert learner.links.display("wks-07") == "WKS-07"


def test_zeek_dhcp_and_ntlm() -> None:
    dhcp = conform(
        pl.DataFrame(
            {
                "timestamp": [T0],
                "source": ["zeek.dhcp"],
                "assigned_addr": ["10.2.0.44"],
                "host_name": ["LAPTOP-9"],
            }
        )
    )
    ntlm = conform(
        pl.DataFrame(
            {
                "timestamp": [T0],
                "source": ["zeek.ntlm"],
                "src_ip": ["10.2.0.45"],
                "hostname": ["LAPTOP-10"],
            }
        )
    )
    links = EntityLearner().observe_all([dhcp, ntlm])
    assert links.host_for("10.2.0.44") == "laptop-9"
    assert links.host_for("10.2.0.45") == "laptop-10"
    assert links.host_for("10.2.0.46") is None


def test_names_claimed_from_internet_addresses_are_not_learnt() -> None:
    """A logon or NTLM client names itself: from outside, that name is the attacker's to choose
    (even one of ours), so only internal addresses are linked to the name they claim."""
    logons = conform(
        pl.DataFrame(
            {
                "timestamp": [T0] * 3,
                "source": ["windows.security"] * 3,
                "host": ["TS-01"] * 3,
                "event_code": [4625, 4624, 4624],
                "IpAddress": ["203.0.113.5", "198.51.100.7", "10.0.0.5"],
                "WorkstationName": ["kali", "FS-01", "WKS-5"],
            }
        )
    )
    ntlm = conform(
        pl.DataFrame(
            {
                "timestamp": [T0, T0],
                "source": ["zeek.ntlm"] * 2,
                "src_ip": ["203.0.113.9", "192.168.4.20"],
                "hostname": ["DC-01", "LAPTOP-4"],
            }
        )
    )
    links = EntityLearner().observe_all([logons, ntlm])
    assert links.pairs() == [("10.0.0.5", "wks-5", 1), ("192.168.4.20", "laptop-4", 1)]
    assert links.host_for("203.0.113.5") is None and links.host_for("203.0.113.9") is None


def test_reused_address_resolves_by_time() -> None:
    links = EntityLinks()
    links.add("10.0.0.9", "OLD-PC", 50, T0, T0 + timedelta(hours=1))
    links.add("10.0.0.9", "NEW-PC", 2, T0 + timedelta(days=10), T0 + timedelta(days=10, hours=2))
    assert links.host_for("10.0.0.9", T0 + timedelta(minutes=30)) == "old-pc"
    assert links.host_for("10.0.0.9", T0 + timedelta(days=10, hours=1)) == "new-pc"
    assert links.host_for("10.0.0.9") == "old-pc"  # no time: most sightings
    assert links.host_for("10.0.0.9", T0 + timedelta(days=5)) is None  # neither lease is near


def test_loopback_and_placeholders_are_not_learnt() -> None:
    links = EntityLinks()
    assert not links.add("127.0.0.1", "WKS-1")
    assert not links.add("-", "WKS-1")
    assert not links.add("10.0.0.1", "-")
    assert len(links) == 0


def test_learner_agrees_with_a_plain_scan_of_real_logons(dataset) -> None:  # type: ignore[no-untyped-def]
    """Every 4624/4625 (IpAddress, WorkstationName) pair of an internal address in the EVTX samples is
    learnt, with its count."""
    from chainbreaker.readers import ReadReport, read_paths

    folder = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES" / "Lateral Movement"
    learner = EntityLearner()
    expected: dict[tuple[str, str], int] = {}
    for batch in read_paths([folder], ReadReport(), workers=1):
        learner.observe(batch)
        if "WorkstationName" not in batch.columns or "IpAddress" not in batch.columns:
            continue
        for code, ip, name in batch.select("event_code", "IpAddress", "WorkstationName").iter_rows():
            host, address = normalise_host(name), normalise_address(ip)
            internal = address is not None and ipaddress.ip_address(address).is_private
            if code in (4624, 4625) and host and internal and not address.startswith("127."):
                expected[(address, host)] = expected.get((address, host), 0) + 1
    assert expected, "the samples hold network logons"
    learnt = {(a, h): n for a, h, n in learner.links.pairs()}
    for pair, count in expected.items():
        assert learnt.get(pair, 0) >= count, pair


def test_declared_assets_win_over_learnt_pairs() -> None:
    from chainbreaker.alerts import Alert, Level
    from chainbreaker.correlate import build_incidents
    from chainbreaker.events import EventRef

    links = EntityLinks()
    links.add("10.0.0.7", "LAPTOP-1", 10, T0, T0)
    beacon = Alert(
        rule_id="beacon", title="beacon", level=Level.high, detector="analytic", time=T0,
        event_refs=(EventRef("conn.log", 1),), src_ip="10.0.0.7", dst_ip="203.0.113.1",
    )  # fmt: skip
    assert build_incidents([beacon], links, {})[0].hosts == ("LAPTOP-1",)
    declared = build_incidents(
        [beacon], links, {"assets": {"addresses": {"10.0.0.7": "KIOSK-2.corp.example"}}}
    )
    assert declared[0].hosts == ("KIOSK-2",)
