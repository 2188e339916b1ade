"""netlogon_self_session: NETLOGON 5805 naming the logging domain controller itself (Zerologon).

The events are written by the test as ``evtx_dump -o jsonl`` lines (the shape the ``evtx`` package
gives the public sample's 5805: unnamed ``Data`` as a ``#text`` list) and read by our Windows JSON
reader, so the ``Data`` column is the one real EVTX files give.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import polars as pl
from analytics_events import T0

from chainbreaker.alerts import Alert, Level
from chainbreaker.detect.analytics import AnalyticsDetector, analytic_class
from chainbreaker.readers import ReadReport, read_paths

Dataset = Callable[[str], Path]
ID = "netlogon_self_session"


def event_5805(record: int, computer: str, named: str, at: datetime, provider: str = "NETLOGON") -> dict:
    """One System 5805 as evtx_dump writes it: %1 = ``named``, %2 = the error (an insertion string)."""
    return {
        "Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": provider}},
                "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 5805},
                "Level": 2,
                "Task": 0,
                "Keywords": "0x80000000000000",
                "TimeCreated": {"#attributes": {"SystemTime": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}},
                "EventRecordID": record,
                "Channel": "System",
                "Computer": computer,
                "Security": None,
            },
            "EventData": {"Data": {"#text": [named, "%%5"]}, "Binary": "220000C0"},
        }
    }


def hunt(tmp_path: Path, events: list[dict]) -> list[Alert]:
    """Write the events as JSONL, read them with our readers, run the analytic over them."""
    path = tmp_path / "system.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    report = ReadReport()
    batches = list(read_paths([path], report, workers=1))
    assert sum(b.height for b in batches) == len(events)
    detector = AnalyticsDetector([analytic_class(ID)()])
    for b in batches:
        detector.observe(b)
    return detector.finish()


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_reader_gives_the_named_computer_as_first_data_item(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_bytes(orjson.dumps(event_5805(7, "DC01.corp.example", "DC01", T0)) + b"\n")
    (frame,) = list(read_paths([path], ReadReport(), workers=1))
    assert frame.select("source", "host", "event_code", "provider", "Data").row(0) == (
        "windows.system",
        "DC01.corp.example",
        5805,
        "NETLOGON",
        "DC01, %%5",
    )


def test_self_named_session_failures_alert_per_host_and_hour(tmp_path: Path) -> None:
    events = [
        # FQDN Computer, the name in upper case as Netlogon writes it: three in one hour, one the next
        event_5805(1, "dc01.corp.example", "DC01", minutes(1)),
        event_5805(2, "dc01.corp.example", "DC01", minutes(2)),
        event_5805(3, "dc01.corp.example", "DC01", minutes(50)),
        event_5805(4, "dc01.corp.example", "DC01", minutes(65)),
        # short Computer, mixed case on both sides
        event_5805(5, "Dc-East", "dC-eAST", minutes(3)),
        # a DNS label longer than a NetBIOS name: the name is the label cut at 15 characters
        event_5805(6, "corp-dc-primary-02.corp.example", "CORP-DC-PRIMAR", minutes(4)),
        event_5805(7, "corp-dc-primary-02.corp.example", "CORP-DC-PRIMARY", minutes(5)),
    ]
    alerts = hunt(tmp_path, events)
    got = [(a.host, a.user, a.count, [r.record for r in a.event_refs]) for a in alerts]
    assert got == [
        ("dc01.corp.example", "DC01$", 3, [1, 2, 3]),
        ("Dc-East", "dC-eAST$", 1, [5]),
        ("corp-dc-primary-02.corp.example", "CORP-DC-PRIMARY$", 1, [7]),  # not the 14-character name
        ("dc01.corp.example", "DC01$", 1, [4]),
    ]
    first = alerts[0]
    assert first.level is Level.high and first.rule_id == ID
    assert "3 NETLOGON 5805 failure(s)" in first.description and "machine account DC01$" in first.description
    assert set(first.techniques) == {"T1212", "T1210"}
    assert {"credential-access", "lateral-movement"} <= set(first.tactics)


def test_workstations_other_controllers_and_other_providers_do_not_alert(tmp_path: Path) -> None:
    events = [
        # stale machine password of a workstation: the routine 5805
        event_5805(1, "dc01.corp.example", "WKS-07", minutes(1)),
        # multi-DC domain: dc01 logs a failure of the other controller's secure channel
        event_5805(2, "dc01.corp.example", "DC02", minutes(2)),
        event_5805(3, "dc02.corp.example", "DC01", minutes(3)),
        # a prefix of the host's name is another computer (only a 15-character name is a cut one)
        event_5805(4, "dc01.corp.example", "DC0", minutes(4)),
        event_5805(5, "dc0.corp.example", "DC01", minutes(5)),
        # the domain part is not the host name
        event_5805(6, "dc01.corp.example", "CORP", minutes(6)),
        # same id from another provider
        event_5805(7, "dc01.corp.example", "DC01", minutes(7), provider="Some-Other-Service"),
    ]
    assert hunt(tmp_path, events) == []
    # the same file plus one self-named failure: only that one alerts
    alerts = hunt(tmp_path, [*events, event_5805(8, "dc01.corp.example", "dc01", minutes(8))])
    assert [(a.host, a.count, a.event_refs[0].record) for a in alerts] == [("dc01.corp.example", 1, 8)]


def test_public_zerologon_sample(dataset: Dataset) -> None:
    """The sample is found by content (System 5805 from NETLOGON), then the analytic must name it."""
    root = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    detector = AnalyticsDetector([analytic_class(ID)()])
    failures: list[tuple[str, str, str]] = []
    for b in read_paths([root], ReadReport(), workers=1):
        hits = b.filter((pl.col("event_code") == 5805) & (pl.col("provider") == "NETLOGON"))
        if hits.height:
            failures += hits.select(pl.col("event_ref").struct.field("file"), "host", "Data").rows()
        detector.observe(b)
    assert len(failures) == 1  # the corpus holds one 5805, in the Zerologon sample
    file, host, data = failures[0]
    assert Path(file).name == "Zerologon_CVE-2020-1472_DFIR_System_NetLogon_Error_EventID_5805.evtx"
    assert data.split(", ")[0].lower() == host.split(".")[0]
    alerts = detector.finish()
    assert [(a.host, a.user, a.count, a.event_refs[0].file) for a in alerts] == [
        (host, data.split(", ")[0] + "$", 1, file)
    ]
    assert alerts[0].level is Level.high
