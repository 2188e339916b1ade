"""Reconnaissance links through the prober only: a sweep's targets are not shared entities.

Two unrelated scanners sweep the same public range hours apart: they stay two incidents (before
this rule every swept address linked them). A scanner whose address later serves the payload
joins that intrusion through the shared external address.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chainbreaker.alerts import Alert, Level
from chainbreaker.correlate import EntityLinks, build_incidents
from chainbreaker.correlate.grouping import entities_of
from chainbreaker.correlate.settings import CorrelateSettings
from chainbreaker.events import EventRef

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SWEEP = [f"192.0.2.{i}" for i in range(1, 9)]


def alert(rule: str, minutes: float, phases: tuple[str, ...], **kw: object) -> Alert:
    return Alert(
        rule_id=rule,
        title=rule,
        level=kw.pop("level", Level.medium),  # type: ignore[arg-type]
        detector="analytic",
        time=T0 + timedelta(minutes=minutes),
        event_refs=(EventRef("net.log", int(minutes * 100) + len(rule)),),
        killchain_phases=phases,
        **kw,  # type: ignore[arg-type]
    )


def sweep(scanner: str, minutes: float) -> list[Alert]:
    return [
        alert("scan", minutes + i / 60, ("reconnaissance",), src_ip=scanner, dst_ip=target)
        for i, target in enumerate(SWEEP)
    ]


def test_two_scanners_of_one_range_stay_apart() -> None:
    alerts = sweep("198.51.100.5", 0) + sweep("203.0.113.9", 120)
    incidents = build_incidents(alerts, EntityLinks(), {})
    assert len(incidents) == 2
    assert all(set(SWEEP) <= set(i.addresses) for i in incidents)


def test_a_non_reconnaissance_alert_still_links_through_its_destination() -> None:
    alerts = [
        alert("c2", 0, ("command-and-control",), src_ip="10.0.0.5", dst_ip="203.0.113.70"),
        alert("c2", 90, ("command-and-control",), src_ip="10.0.0.9", dst_ip="203.0.113.70"),
    ]
    assert len(build_incidents(alerts, EntityLinks(), {})) == 1


def test_scanner_that_later_serves_the_payload_joins_the_intrusion() -> None:
    links = EntityLinks()
    links.add("10.0.0.5", "WKS-05", first=T0 - timedelta(hours=1), last=T0 + timedelta(hours=1))
    alerts = [
        *sweep("198.51.100.23", 0),
        alert(
            "download",
            40,
            ("exploitation", "command-and-control"),
            src_ip="10.0.0.5",
            dst_ip="198.51.100.23",
        ),
        alert("encoded-powershell", 41, ("exploitation",), host="WKS-05.corp.example", level=Level.high),
    ]
    (incident,) = build_incidents(alerts, links, {})
    assert incident.hosts == ("WKS-05",)
    assert {"reconnaissance", "exploitation"} <= set(incident.killchain_phases)


def test_reconnaissance_keys_name_the_source_only() -> None:
    settings = CorrelateSettings.from_mapping({})
    probe = entities_of(sweep("198.51.100.5", 0)[0], EntityLinks(), settings)
    assert probe.unresolved == ("198.51.100.5",) and "192.0.2.1" in probe.addresses
