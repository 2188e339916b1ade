"""Reconnaissance and C2 analytics on connection records built by the test."""

from __future__ import annotations

import random

from analytics_events import at, batch, run


def conn(
    t: float, src: str, dst: str, port: int, state: str = "SF", proto: str = "tcp", **extra: object
) -> dict:
    return {
        "timestamp": at(t),
        "source": "zeek.conn",
        "src_ip": src,
        "dst_ip": dst,
        "dst_port": port,
        "proto": proto,
        "conn_state": state,
        **extra,
    }


def test_vertical_scan_fires_with_the_scanner_address() -> None:
    rows = [conn(i * 0.1, "10.1.1.5", "10.1.1.9", 1000 + i, "REJ") for i in range(40)]
    alerts = run("vertical_port_scan", batch(rows))
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.src_ip, alert.dst_ip, alert.count) == ("10.1.1.5", "10.1.1.9", 40)
    assert "40 distinct ports (40 unanswered or refused)" in alert.description
    assert alert.killchain_phases[0] == "reconnaissance" and alert.techniques == ("T1046",)
    assert len(alert.event_refs) == 40


def test_scan_from_outside_is_reconnaissance_only() -> None:
    # The same probing from an external address: Active Scanning (T1595.001), not internal discovery.
    rows = [conn(i * 0.1, "198.51.100.23", "10.1.1.9", 1000 + i, "REJ") for i in range(40)]
    (alert,) = run("vertical_port_scan", batch(rows))
    assert alert.techniques == ("T1595.001",) and alert.tactics == ("reconnaissance",)
    assert alert.killchain_phases == ("reconnaissance",)
    many = [conn(i * 0.1, "198.51.100.23", "10.1.1.9", 1000 + i, "REJ") for i in range(120)]
    (failed,) = run("failed_connections", batch(many))
    assert failed.tactics == ("reconnaissance",) and "actions-on-objectives" not in failed.killchain_phases


def test_vertical_scan_needs_unanswered_ports() -> None:
    # A busy client using many services of one server, all answered: not a scan.
    rows = [conn(i, "10.1.1.5", "10.1.1.9", 1000 + i, "SF") for i in range(40)]
    assert run("vertical_port_scan", batch(rows)) == []


def test_horizontal_scan_and_browsing() -> None:
    scan = [conn(i, "10.1.1.5", f"192.0.2.{i}", 445, "S0" if i % 2 else "REJ") for i in range(1, 31)]
    alerts = run("horizontal_port_scan", batch(scan))
    assert [a.src_ip for a in alerts] == ["10.1.1.5"]
    assert "30 distinct hosts" in alerts[0].description and "port 445/tcp" in alerts[0].description
    browsing = [conn(i, "10.1.1.5", f"198.51.100.{i}", 443, "SF") for i in range(1, 31)]
    assert run("horizontal_port_scan", batch(browsing)) == []


def test_icmp_sweep_and_failed_connections() -> None:
    sweep = [conn(i, "10.1.1.7", f"10.2.0.{i}", 0, "OTH", proto="icmp", src_port=8) for i in range(1, 26)]
    assert [a.src_ip for a in run("icmp_host_sweep", batch(sweep))] == ["10.1.1.7"]
    unreachables = [{**row, "src_port": 3} for row in sweep]  # type 3: answers to someone else's traffic
    assert run("icmp_host_sweep", batch(unreachables)) == []
    assert run("icmp_host_sweep", batch(sweep[:10])) == []
    failing = [conn(i, "10.1.1.8", f"203.0.113.{i % 50}", 80 + i % 3, "S0") for i in range(120)]
    alerts = run("failed_connections", batch(failing))
    assert len(alerts) == 1 and "120 of 120 connections fail" in alerts[0].description
    mostly_fine = failing[:60] + [conn(i, "10.1.1.8", "203.0.113.1", 80) for i in range(100)]
    assert run("failed_connections", batch(mostly_fine)) == []


def test_suricata_flows_count_as_connections() -> None:
    rows = [
        {
            "timestamp": at(i),
            "source": "suricata.flow",
            "src_ip": "10.1.1.5",
            "dst_ip": "10.1.1.9",
            "dst_port": 2000 + i,
            "proto": "TCP",
            "flow.pkts_toclient": "0",
            "flow.pkts_toserver": "1",
        }
        for i in range(30)
    ]
    assert [a.dst_ip for a in run("vertical_port_scan", batch(rows))] == ["10.1.1.9"]


def beacon_rows(
    src: str,
    dst: str,
    port: int,
    hours: float,
    interval: float,
    jitter: float,
    seed: int,
    size: int = 312,
    size_jitter: int = 8,
    proto: str = "tcp",
) -> list[dict]:
    rnd = random.Random(seed)
    rows, t = [], 0.0
    while t < hours * 3600:
        rows.append(
            conn(
                t,
                src,
                dst,
                port,
                proto=proto,
                orig_bytes=size + rnd.randint(-size_jitter, size_jitter),
                resp_bytes=90,
                duration=0.2,
            )
        )
        t += interval * (1 + rnd.uniform(-jitter, jitter))
    return rows


def test_beacon_outranks_ordinary_periodic_traffic_across_rotated_batches() -> None:
    beacon = beacon_rows("10.0.0.23", "203.0.113.77", 443, hours=6, interval=60, jitter=0.1, seed=1)
    # Ordinary periodic traffic: NTP to a public pool from every host, monitoring polls to an internal
    # server, DNS to the resolver, and an update check every host makes to the same service.
    ntp = [
        r
        for h in range(10)
        for r in beacon_rows(f"10.0.0.{h}", "198.51.100.123", 123, 6, 64, 0, h, 48, 0, "udp")
    ]
    poll = beacon_rows("10.0.0.5", "10.0.9.9", 161, 6, 30, 0.01, 2, 120, 0)
    dns = beacon_rows("10.0.0.23", "10.0.0.53", 53, 6, 20, 0.3, 3, 60, 10, "udp")
    updates = [
        r for h in range(10) for r in beacon_rows(f"10.0.0.{h}", "192.0.2.80", 443, 6, 3600, 0, h, 900, 0)
    ]
    browsing = [
        conn(random.Random(4).uniform(0, 21600), "10.0.0.23", "192.0.2.200", 443, orig_bytes=i * 37)
        for i in range(200)
    ]
    rows = sorted(beacon + ntp + poll + dns + updates + browsing, key=lambda r: r["timestamp"])
    hourly = [
        batch(
            [r for r in rows if h * 3600 <= (r["timestamp"] - at(0)).total_seconds() < (h + 1) * 3600],
            file=f"conn.{h:02d}.log",
        )
        for h in range(6)
    ]
    alerts = run("beaconing", *hourly)
    # Without the exclusions, the perfectly regular NTP and update traffic would be reported too.
    unfiltered = run("beaconing", *hourly, ignore_services=(), max_prevalence=1.0, include_internal=True)
    assert {"198.51.100.123", "10.0.9.9", "10.0.0.53", "203.0.113.77"} <= {a.dst_ip for a in unfiltered}
    assert [(a.src_ip, a.dst_ip) for a in alerts] == [("10.0.0.23", "203.0.113.77")]
    assert alerts[0].extra["score"] >= 0.9
    assert "median interval 6" in alerts[0].description  # ~60 s
    files = {ref.file for ref in alerts[0].event_refs}
    assert files == {"conn.00.log"} and len(alerts[0].event_refs) == 50 and alerts[0].count == len(beacon)


def test_beacon_exclusions_are_parameters() -> None:
    internal = beacon_rows("10.0.0.23", "10.0.5.5", 8443, hours=3, interval=60, jitter=0.05, seed=5)
    assert run("beaconing", batch(internal)) == []
    assert [a.dst_ip for a in run("beaconing", batch(internal), include_internal=True)] == ["10.0.5.5"]
    external = beacon_rows("10.0.0.23", "203.0.113.77", 443, hours=3, interval=60, jitter=0.05, seed=5)
    assert run("beaconing", batch(external), allow_destinations=("203.0.113.0/24",)) == []
    # Irregular traffic to the same place scores low.
    rnd = random.Random(9)
    irregular = [
        conn(rnd.uniform(0, 10800), "10.0.0.23", "203.0.113.77", 443, orig_bytes=rnd.randint(50, 90000))
        for _ in range(120)
    ]
    assert run("beaconing", batch(sorted(irregular, key=lambda r: r["timestamp"]))) == []


def test_long_connection_and_large_upload() -> None:
    rows = [
        conn(0, "10.0.0.4", "203.0.113.9", 22, duration=7300.0, orig_bytes=5000, resp_bytes=4000),
        conn(0, "10.0.0.4", "10.0.0.8", 445, duration=9000.0),
    ]
    alerts = run("long_connection", batch(rows))
    assert [(a.dst_ip, "longest connection 2.03 h" in a.description) for a in alerts] == [
        ("203.0.113.9", True)
    ]
    usual = [
        conn(i, "10.0.0.4", f"198.51.100.{i}", 443, orig_bytes=20_000, resp_bytes=300_000) for i in range(20)
    ]
    upload = [
        conn(100 + i, "10.0.0.4", "203.0.113.50", 443, orig_bytes=50_000_000, resp_bytes=10_000)
        for i in range(4)
    ]
    alerts = run("large_outbound_transfer", batch(usual + upload))
    assert [(a.src_ip, a.dst_ip, a.count) for a in alerts] == [("10.0.0.4", "203.0.113.50", 4)]
    assert "sent 200.0 MB" in alerts[0].description
    assert run("large_outbound_transfer", batch(usual)) == []
